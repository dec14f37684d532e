"""Import a template or a collaborator's metadata file as a new pending session.

The TUI's ``llmtool-tui import FILE [--dataset PATH] [--model PATH]``: the same engine call
(``Engine.import_template``), in a thread. A refusal (no such file, not a metadata document, too
large, an incomplete model folder) is shown in the dialog; a file imported before (same
``session_uuid``) is not imported twice: the session it became is named, and given the dataset
and model paths typed here, if any.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine
from engine.files import expand_user
from engine.store import StoreError
from engine.templates import ImportResult
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import literal, visible


def import_summary(result: ImportResult) -> tuple[str, Text]:
    """The title and body of the dialog that reports an import (what the file said, escaped)."""
    session_id, file_name = visible(result.session_id), visible(result.path.name)
    body = Text()
    if result.created or result.updated:
        if result.created:
            title = "Template imported"
            body.append(f"New session {session_id}", style="bold")
            body.append(f" ({file_name}), status pending.\n")
        else:
            title = "Paths updated"
            body.append("This file was imported already as session ")
            body.append(session_id, style="bold")
            body.append(f" ({file_name}); its paths were updated.\n")
        body.append(f"Dataset: {visible(result.dataset or '-')}")
        if not result.dataset_found:
            body.append(" (not found: locate it before training)", style="bold")
        for model in result.models:
            body.append(f"\nModel: {visible(model)}")
            if model in result.missing_models:
                body.append(" (not on this machine)", style="bold")
        if result.missing_models:
            body.append(
                "\nThe session cannot train until its model is here: import the file again"
                " (i) with the model's folder."
            )
    else:
        title = "Already imported"
        body.append("This file was imported already as session ")
        body.append(session_id, style="bold")
        body.append(f" ({file_name}); nothing was written.")
    if result.warnings:
        body.append("\n\nWarnings:", style="bold")
        for warning in result.warnings:
            body.append(f"\n• {visible(warning)}")
    return title, body


class ImportTemplateDialog(FormDialog[ImportResult]):
    """Asks for the file and, optionally, the dataset; dismissed with the result, or None."""

    SUBMIT_BUTTON = "import"

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label("Import a template", classes="dialog-title")
            yield Static(
                "A template (from Export) or a collaborator's metadata file becomes a new "
                "pending session; importing it again with new paths updates that session. "
                "Nothing in it is run; settings that would load remote code "
                "or credentials are removed.",
                classes="dialog-body",
            )
            with Grid(classes="dialog-form"):
                yield Label("File")
                yield Input(placeholder="/path/to/session.template.json", id="import-file",
                            compact=True)  # fmt: skip
                yield Label("Dataset")
                yield Input(
                    placeholder="optional: the dataset's path on this machine",
                    id="import-dataset",
                    compact=True,
                )
                yield Label("Model")
                yield Input(
                    placeholder="optional: a local model folder on this machine",
                    id="import-model",
                    compact=True,
                )
            yield Static(id="import-error", classes="form-errors")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import", variant="primary", id="import")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#import-file", Input).focus()

    def submit(self) -> None:
        """Import the file typed (Enter in any field: the dataset and model are optional)."""
        source = self.query_one("#import-file", Input).value.strip()
        dataset = self.query_one("#import-dataset", Input).value.strip()
        model = self.query_one("#import-model", Input).value.strip()
        if not source:
            self._show_error("give the path of the template or metadata file")
            return
        self._import(
            Path(source),
            expand_user(dataset) if dataset else None,
            [expand_user(model)] if model else [],
        )

    @work(group="import-template", exclusive=True, exit_on_error=False)
    async def _import(self, source: Path, dataset: Path | None, models: list[Path]) -> None:
        engine = self.engine
        try:
            result: ImportResult = await asyncio.to_thread(
                engine.import_template, source, dataset=dataset, models=models
            )
        except (BadInputError, OperationError, StoreError) as error:
            self._show_error(in_app(error))
            return
        self.dismiss(result)

    def _show_error(self, message: str) -> None:
        self.query_one("#import-error", Static).update(literal(message))

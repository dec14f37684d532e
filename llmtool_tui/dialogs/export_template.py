"""Export a session as a shareable template: the TUI's ``llmtool-tui export SESSION -o FILE``.

The output path is asked for, ``<workspace>/<session_id>.template.json`` by default. An existing
file is replaced only once the user confirms it. The template is written by the same engine call
as the command's (``Engine.export_template``), atomically, in a thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine
from engine.files import expand_user
from engine.store import StoreError
from engine.templates import ExportedTemplate
from engine.workspace import safe_name
from llmtool_tui.dialogs.confirm import ConfirmDialog
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import literal, visible


@dataclass(frozen=True)
class TemplateExported:
    """Where the template was written, and what was removed with a warning."""

    output: Path
    warnings: list[str] = field(default_factory=list)


def default_output(engine: Engine, session_id: str) -> Path:
    """``<workspace>/<session_id>.template.json`` (the id made safe for a file name)."""
    return engine.workspace.root / f"{safe_name(session_id)}.template.json"


class ExportTemplateDialog(FormDialog[TemplateExported]):
    """Asks where to write the template; dismissed once it is written, or with None."""

    SUBMIT_BUTTON = "export"

    def __init__(self, engine: Engine, path: Path, session_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.path = path
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(
                f"Export {visible(self.session_id)} as a template",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                "The configuration without what belongs to this machine or run (host, process, "
                "results, timestamps); absolute paths become file names.",
                classes="dialog-body",
            )
            yield Input(
                str(default_output(self.engine, self.session_id)), id="export-path", compact=True
            )
            yield Static(id="export-error", classes="form-errors")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def submit(self) -> None:
        """Export to the path typed, after asking before replacing a file."""
        value = self.query_one(Input).value.strip()
        if not value:
            self._show_error("give the path of the file to write")
            return
        self._export(expand_user(value), overwrite=False)

    @work(group="export-template", exclusive=True, exit_on_error=False)
    async def _export(self, output: Path, *, overwrite: bool) -> None:
        engine = self.engine
        if not overwrite and await asyncio.to_thread(output.exists):

            def replace(answer: bool | None) -> None:
                if answer:
                    self._export(output, overwrite=True)

            self.app.push_screen(
                ConfirmDialog(
                    "Replace file",
                    f"{output} exists. Replace it with the template of {self.session_id}?",
                    confirm_label="Replace",
                    cancel_label="Keep it",
                ),
                replace,
            )
            return
        try:
            exported: ExportedTemplate = await asyncio.to_thread(
                engine.export_template, self.path, output, overwrite=overwrite
            )
        except (BadInputError, OperationError, StoreError) as error:
            self._show_error(in_app(error))
            return
        self.dismiss(TemplateExported(output, exported.cleaned.warnings()))

    def _show_error(self, message: str) -> None:
        self.query_one("#export-error", Static).update(literal(message))

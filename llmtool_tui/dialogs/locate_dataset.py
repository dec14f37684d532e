"""The dataset was moved or deleted: say so, and let the user point to where it is now.

The specification's "Failed to reconstruct bundle from metadata" case. The new path is given to
``Engine.locate_dataset``, which checks the file's fingerprint against the recorded one before it
saves the path into the session's metadata; a refusal is shown here and the user may try again.
Asked for by a resume (the same session then continues) or a relaunch (a new one starts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine
from engine.files import expand_user
from engine.schema import TrainingMetadata
from engine.store import StoreError
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import literal, visible


class LocateDatasetDialog(FormDialog[TrainingMetadata]):
    """Dismissed with the updated metadata once the new path is saved, or None."""

    SUBMIT_BUTTON = "locate"

    def __init__(
        self,
        engine: Engine,
        session_path: Path,
        recorded_dataset: str,
        *,
        then: Literal["resume", "relaunch"] = "relaunch",
    ) -> None:
        super().__init__()
        self.engine = engine
        self.session_path = session_path
        self.recorded_dataset = recorded_dataset
        self.then = then
        """What happens once the file is found: the session resumes, or a new one starts."""

    def compose(self) -> ComposeResult:
        body = Text()
        body.append("Failed to reconstruct bundle from metadata: ", style="bold")
        body.append(f"the dataset {visible(self.recorded_dataset)} was moved or deleted.\n")
        body.append(
            "Give its new location: the file's fingerprint is checked against the one "
            "recorded before the path is saved into the session. "
        )
        body.append(
            "Then the session resumes from its last checkpoint."
            if self.then == "resume"
            else "Then a new session starts with the same parameters."
        )
        with Vertical(classes="dialog -wide"):
            yield Label("Dataset not found", classes="dialog-title")
            yield Static(body, classes="dialog-body")
            yield Input(placeholder="/path/to/dataset.csv", id="locate-path")
            yield Static(id="locate-error", classes="form-errors")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Use this file", variant="primary", id="locate")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def submit(self) -> None:
        """Check the file typed against the recorded fingerprint, then save its path."""
        value = self.query_one(Input).value.strip()
        if not value:
            self._show_error("give the path of the dataset file")
            return
        self._save(expand_user(value))

    @work(group="locate-dataset", exclusive=True, exit_on_error=False)
    async def _save(self, new_dataset: Path) -> None:
        self._show_error("checking the file's fingerprint…", error=False)
        try:
            metadata: TrainingMetadata = await asyncio.to_thread(
                self.engine.locate_dataset, self.session_path, new_dataset
            )
        except (BadInputError, OperationError, StoreError) as exc:
            self._show_error(in_app(exc))
            return
        self.dismiss(metadata)

    def _show_error(self, message: str, *, error: bool = True) -> None:
        line = self.query_one("#locate-error", Static)
        line.set_class(error, "-error")
        line.update(literal(message))

"""Edit a session's notes in a modal TextArea; also the base of the tags dialog.

Both save through ``Engine.save_notes``: a read-modify-write of the metadata under the store's
lock, so a worker updating the session's status at the same moment loses nothing, and neither
does the note. A refusal (a lock held too long, an unreadable file) is shown in the dialog, with
the typed text still there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static, TextArea

from engine.errors import BadInputError, OperationError
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import StoreError
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import literal, visible


class SessionTextDialog(FormDialog[TrainingMetadata]):
    """Saves notes or tags of one session; dismissed with the saved metadata, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "save", "Save")]
    SUBMIT_BUTTON = "save"
    SAVED: ClassVar[str]
    """What the notification says was saved (``Notes``, ``Tags``): the dialog closes at once."""

    def __init__(self, engine: Engine, path: Path, metadata: TrainingMetadata) -> None:
        super().__init__()
        self.engine = engine
        self.path = path
        self.metadata = metadata

    def buttons(self) -> ComposeResult:
        """The error line and the Save and Cancel buttons, at the bottom of the dialog."""
        yield Static(id="save-error", classes="form-errors")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Save (Ctrl+S)", variant="primary", id="save")
            yield Button("Cancel (Esc)", id="cancel")

    def action_save(self) -> None:
        """Save what was typed."""
        self.submit()

    @work(group="save-notes", exclusive=True, exit_on_error=False)
    async def save(self, *, notes: str | None = None, tags: list[str] | None = None) -> None:
        """Save ``notes`` and/or ``tags`` in a thread; close when saved, say why not otherwise."""
        engine = self.engine
        try:
            metadata: TrainingMetadata = await asyncio.to_thread(
                engine.save_notes, self.path, notes=notes, tags=tags
            )
        except (BadInputError, OperationError, StoreError) as error:
            self.query_one("#save-error", Static).update(literal(f"Not saved: {error}"))
            return
        self.app.notify(f"{self.SAVED} of {visible(metadata.session_id)} saved.", markup=False)
        self.dismiss(metadata)


class NotesDialog(SessionTextDialog):
    """Free notes of a session, several lines."""

    SAVED = "Notes"

    def __init__(self, engine: Engine, path: Path, metadata: TrainingMetadata) -> None:
        super().__init__(engine, path, metadata)
        # The editor would pass control characters of the notes to the terminal: it shows them
        # escaped. Saved unedited, the notes are kept as they were, not as they were shown.
        self.shown_notes = visible(metadata.notes, multiline=True)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(
                f"Notes of {visible(self.metadata.session_id)}",
                classes="dialog-title",
                markup=False,
            )
            yield TextArea(self.shown_notes, id="notes-text", soft_wrap=True)
            yield from self.buttons()

    def on_mount(self) -> None:
        text = self.query_one(TextArea)
        text.focus()
        text.move_cursor(text.document.end)

    def submit(self) -> None:
        """Save the notes (those read from the file when they were not edited)."""
        text = self.query_one(TextArea).text
        self.save(notes=self.metadata.notes if text == self.shown_notes else text)

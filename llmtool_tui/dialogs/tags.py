"""Edit a session's tags: comma-separated in one line, shown as they will be saved.

Tags are normalised as ``engine.filters.normalize_tags`` does (trimmed, empty and duplicate ones
dropped, case-insensitively) so that ``tag:`` searches find them; the line under the input shows
the result while typing. Saved like notes, under the store's lock (see dialogs.notes).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from engine.facade import Engine
from engine.filters import normalize_tags
from engine.schema import TrainingMetadata
from llmtool_tui.dialogs.notes import SessionTextDialog
from llmtool_tui.untrusted import visible


def tags_preview(tags: list[str]) -> Text:
    """What will be saved, each tag shown literally (escaped: tags come from the file)."""
    if not tags:
        return Text("No tags: saving removes them all.", style="dim")
    preview = Text(f"Saved as {len(tags)} tag{'s' if len(tags) > 1 else ''}: ", style="dim")
    for position, tag in enumerate(tags):
        if position:
            preview.append(" · ", style="dim")
        preview.append(visible(tag), style="bold")
    return preview


class TagsDialog(SessionTextDialog):
    """Tags of a session, comma-separated."""

    SAVED = "Tags"

    def __init__(self, engine: Engine, path: Path, metadata: TrainingMetadata) -> None:
        super().__init__(engine, path, metadata)
        # As the notes' editor (see NotesDialog): the input shows the tags escaped, and saved
        # unedited they are kept as they were.
        self.shown_tags = ", ".join(visible(tag) for tag in metadata.tags)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(
                f"Tags of {visible(self.metadata.session_id)}",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                "Comma-separated, e.g. paper, baseline. Find them with the history's search: "
                "tag:paper.",
                classes="dialog-body",
            )
            # The cursor at the end, nothing selected: adding a tag is the usual edit.
            yield Input(
                self.shown_tags,
                id="tags-input",
                compact=True,
                select_on_focus=False,
            )
            yield Static(tags_preview(self.metadata.tags), id="tags-preview")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#tags-input")
    def _preview(self, event: Input.Changed) -> None:
        self.query_one("#tags-preview", Static).update(tags_preview(normalize_tags(event.value)))

    def submit(self) -> None:
        """Save the tags, normalised (those read from the file when they were not edited)."""
        typed = self.query_one(Input).value
        self.save(tags=self.metadata.tags if typed == self.shown_tags else normalize_tags(typed))

"""A modal directory browser to pick a dataset file with the keyboard."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label, Static

from llmtool_tui.untrusted import literal, visible
from llmtool_tui.widgets.footer import Footer


class DatasetTree(DirectoryTree):
    """A DirectoryTree without hidden entries (caches, virtual environments, ``.git``).

    File names are anyone's: their control characters are shown escaped.
    """

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")]

    def process_label(self, label: str | Text) -> Text:
        return super().process_label(visible(label) if isinstance(label, str) else label)


class DatasetBrowser(ModalScreen[Path | None]):
    """Browse from ``start`` and dismiss with the chosen file, or None on Escape."""

    DEFAULT_CSS = """
    DatasetBrowser {
        align: center middle;
        #browser {
            width: 90%;
            height: 90%;
            border: round $accent;
            background: $surface;
            padding: 0 1;
        }
        #browser-root {
            color: $text-muted;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        DatasetTree {
            height: 1fr;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel"),
        Binding("backspace", "parent", "Parent folder"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="browser") as browser:
            browser.border_title = "Choose a dataset file"
            yield Label("Enter opens a folder or picks a file.", markup=False)
            yield Static(literal(str(self.start)), id="browser-root")
            yield DatasetTree(self.start)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DatasetTree).focus()

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_parent(self) -> None:
        """Re-root the tree at the parent folder (a tree cannot show above its root)."""
        tree = self.query_one(DatasetTree)
        parent = Path(tree.path).resolve().parent
        tree.path = parent
        self.query_one("#browser-root", Static).update(literal(str(parent)))

    def action_dismiss_none(self) -> None:
        """Close without choosing."""
        self.dismiss(None)

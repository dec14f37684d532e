"""Step 1: the dataset file, typed with path completion or picked in a directory browser."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input, Static

from engine.files import expand_user
from llmtool_tui.screens.wizard.dataset_browser import DatasetBrowser
from llmtool_tui.screens.wizard.path_suggester import PathSuggester
from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.untrusted import visible


def resolve_dataset_path(text: str) -> Path:
    """The absolute path of what was typed (``~`` expanded, relative to the current directory)."""
    return expand_user(text.strip()).absolute()


class DatasetStep(WizardStep):
    """Type a path (→ accepts the completion) or browse with ctrl+o; Enter analyses the file."""

    DEFAULT_CSS = """
    DatasetStep {
        #proposal-hint {
            display: none;
            margin-top: 1;
            color: $text-success;
            &.-shown {
                display: block;
            }
        }
    }
    """

    TITLE = "Dataset"
    HINT = "CSV, TSV, JSON, JSONL, Excel (.xlsx) or Parquet. → completes, ctrl+o browses."

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+o", "browse", "Browse files")]

    proposed: str | None = None
    """What was filled in for the user (the sample dataset, the last dataset's folder)."""
    browsed: tuple[str, Path] | None = None
    """The file picked in the browser, and its path as the field shows it (escaped)."""

    @dataclass
    class DatasetChosen(Message):
        """A dataset file was chosen: analyse it."""

        path: Path

    def compose_body(self) -> ComposeResult:
        yield Input(
            self.state.dataset,
            placeholder="path/to/annotated_data.csv",
            suggester=PathSuggester(),
            id="dataset-path",
        )
        yield Static("", id="proposal-hint", markup=False)

    def enter_step(self) -> None:
        self.query_one("#dataset-path", Input).focus()

    def propose_sample(self, path: Path, description: str) -> None:
        """Fill in the bundled sample dataset for a new user, unless something was typed."""
        self._propose(
            str(path),
            f"No training session yet: the bundled sample dataset is filled in ({description}). "
            "Press Enter to analyse it.",
        )

    def propose_directory(self, directory: Path) -> None:
        """Fill in the folder of the last session's dataset, unless something was typed.

        The folder comes from a session file: one whose name would show escaped is not proposed
        (the field would hold a path that does not exist).
        """
        if visible(str(directory)) != str(directory):
            return
        self._propose(
            # The separator after it: the completion offers the folder's files at once.
            str(directory).rstrip(os.sep) + os.sep,
            "The folder of your last session's dataset: type the file's name (→ completes), or "
            "ctrl+o to browse.",
        )

    def _propose(self, value: str, hint: str) -> None:
        field = self.query_one("#dataset-path", Input)
        if field.value.strip():
            return
        self.proposed = value
        self.query_one("#proposal-hint", Static).update(hint)
        field.value = value

    @on(Input.Changed, "#dataset-path")
    def _remember(self, event: Input.Changed) -> None:
        event.stop()
        self.state.dataset = event.value
        self.query_one("#proposal-hint").set_class(
            self.proposed is not None and event.value == self.proposed, "-shown"
        )
        self.show_error(None)

    def confirm(self) -> None:
        text = self.query_one("#dataset-path", Input).value
        if not text.strip():
            self.show_error("Type the path of a dataset file, or press ctrl+o to browse.")
            return
        if self.browsed is not None and text == self.browsed[0]:
            # The file picked, whose escaped name the field shows.
            self.post_message(self.DatasetChosen(self.browsed[1]))
            return
        self.post_message(self.DatasetChosen(resolve_dataset_path(text)))

    def action_browse(self) -> None:
        """Pick the file in a directory browser that opens where the typed path points."""
        typed = self.query_one("#dataset-path", Input).value.strip()
        start = resolve_dataset_path(typed) if typed else Path.cwd()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        self.app.push_screen(DatasetBrowser(start), self._browsed)

    def _browsed(self, path: Path | None) -> None:
        if path is None:
            return
        # A file name may hold control characters, which the field would pass to the terminal:
        # it shows them escaped, and Enter still analyses the file picked until it is edited.
        shown = visible(str(path))
        self.browsed = (shown, path)
        self.query_one("#dataset-path", Input).value = shown
        self.confirm()

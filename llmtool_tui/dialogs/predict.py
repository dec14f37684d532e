"""Predict with a session's best model: the TUI's ``llmtool-tui predict SESSION FILE -o OUT``.

Asks for the file (with the wizard's path completion), the output (beside the file by default)
and the text column (the session's by default). The request is checked by the same engine call
as the command's (``Engine.plan_prediction``, in a thread: it reads the file); a refusal is shown
here in one line. The prediction then starts in a detached worker (``Engine.start_prediction``),
and the dialog is dismissed with its first status, which the details then follow.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine
from engine.files import expand_user
from engine.prediction.plan import OUTPUT_FORMATS, default_output
from engine.prediction.status import PredictionStatus
from engine.schema import TrainingMetadata
from engine.store import MetadataError, StoreError
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import literal, visible


class PredictDialog(FormDialog[PredictionStatus]):
    """Dismissed with the started prediction's status, or None."""

    SUBMIT_BUTTON = "predict"

    def __init__(
        self,
        engine: Engine,
        path: Path,
        metadata: TrainingMetadata,
        *,
        path_suggester: type[Suggester] | None = None,
    ) -> None:
        """``path_suggester`` completes the paths typed (the screen gives the wizard's: dialogs
        never import screens)."""
        super().__init__()
        self.engine = engine
        self.path = path
        self.metadata = metadata
        self.path_suggester = path_suggester

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(
                f"Predict with {visible(self.metadata.session_id)}'s best model",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                "The texts of a file (any format the analysis reads) get the model's labels and"
                f" probabilities, written with the file's columns to the output"
                f" ({', '.join(OUTPUT_FORMATS)}). It runs in the background; stopped, the same"
                " file and output continue where it stopped.",
                classes="dialog-body",
                markup=False,
            )
            yield Label("File")
            yield Input(
                placeholder="/path/to/texts.csv",
                id="predict-file",
                suggester=self._suggester(),
                compact=True,
            )
            yield Label("Output")
            yield Input(
                placeholder="beside the file: <name>.predictions.csv",
                id="predict-output",
                suggester=self._suggester(),
                compact=True,
            )
            yield Label("Text column")
            yield Input(
                self.metadata.dataset_config.text_column or "", id="predict-column", compact=True
            )
            yield Static(id="predict-error", classes="form-errors")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Predict", variant="primary", id="predict")
                yield Button("Cancel (Esc)", id="cancel")

    def _suggester(self) -> Suggester | None:
        return self.path_suggester() if self.path_suggester is not None else None

    def on_mount(self) -> None:
        self.query_one("#predict-file", Input).focus()

    @on(Input.Changed, "#predict-file")
    def _file_changed(self, event: Input.Changed) -> None:
        # The output it would get when left empty, in the field's placeholder.
        value = event.value.strip()
        self.query_one("#predict-output", Input).placeholder = (
            f"beside the file: {default_output(Path(value)).name}"
            if value and not value.endswith("/")
            else "beside the file: <name>.predictions.csv"
        )

    def submit(self) -> None:
        """Check the request (in a thread), then start the prediction in the background."""
        file = self.query_one("#predict-file", Input).value.strip()
        if not file:
            self._show_error("give the file of the texts to predict")
            return
        output = self.query_one("#predict-output", Input).value.strip()
        column = self.query_one("#predict-column", Input).value.strip()
        self._start(expand_user(file), expand_user(output) if output else None, column or None)

    @work(group="predict-start", exclusive=True, exit_on_error=False)
    async def _start(self, file: Path, output: Path | None, text_column: str | None) -> None:
        self._show_error("reading the file…", error=False)
        try:
            plan = await asyncio.to_thread(
                self.engine.plan_prediction, self.path, file, output, text_column=text_column
            )
            status = await asyncio.to_thread(self.engine.start_prediction, plan)
        except (BadInputError, OperationError, StoreError, MetadataError) as exc:
            self._show_error(in_app(exc))
            return
        self.dismiss(status)

    def _show_error(self, message: str, *, error: bool = True) -> None:
        line = self.query_one("#predict-error", Static)
        line.set_class(error, "-error")
        line.update(literal(message))

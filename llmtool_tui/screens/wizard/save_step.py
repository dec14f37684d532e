"""Step 8: the specification's "Reproducibility & Metadata" panel and its save question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from llmtool_tui.screens.wizard.step import WizardStep

PANEL_TITLE = "Reproducibility & Metadata"
#: The specification's panel, word for word.
PANEL_TEXT = """\
1. Resume Capability
   • Save parameters to resume later if interrupted
   • Access via 'Resume/Relaunch Training' option

2. Scientific Reproducibility
   • Document exact training configuration
   • Track model, dataset, and hyperparameters
   • Share configurations with collaborators"""
NO_WARNING = """\
⚠  If you choose NO:
   • You CANNOT resume this training later
   • Parameters will not be saved for future reference"""
QUESTION = "Save training parameters to JSON? [Y/n]:"
NOT_SAVED = (
    "⚠  Not saving: this session cannot be resumed and will not appear in the history; "
    "only its live view follows it."
)


class SaveStep(WizardStep):
    """Y (or Enter) saves the metadata before training starts; n trains without it."""

    DEFAULT_CSS = """
    SaveStep {
        #save-panel {
            height: auto;
            border: round $accent;
            border-title-style: bold;
            padding: 0 1;
        }
        #save-no-warning {
            color: $text-warning;
            margin-top: 1;
        }
        #save-question {
            height: auto;
            margin-top: 1;
            & > Static {
                width: auto;
                margin-right: 2;
                text-style: bold;
            }
            & > Button {
                width: auto;
                min-width: 7;
                margin-right: 2;
            }
        }
        #save-status {
            margin-top: 1;
            color: $text-muted;
        }
        #save-status.-warning {
            color: $text-warning;
        }
    }
    """

    TITLE = "Save"
    HINT = "Training starts as soon as you answer."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, save"),
        Binding("n", "answer(False)", "No"),
    ]

    @dataclass
    class SaveChosen(Message):
        """The save question was answered: launch the training."""

        save: bool

    def compose_body(self) -> ComposeResult:
        with Vertical(id="save-panel") as panel:
            panel.border_title = PANEL_TITLE
            yield Static(PANEL_TEXT, markup=False)
            yield Static(NO_WARNING, id="save-no-warning", markup=False)
        with Horizontal(id="save-question"):
            yield Static(QUESTION, markup=False)
            yield Button("Yes", id="save-yes", variant="primary", compact=True)
            yield Button("No", id="save-no", compact=True)
        yield Static("", id="save-status", markup=False)

    def enter_step(self) -> None:
        self.show_status("")
        # Yes unless the last answer (one whose launch failed) was No.
        self.query_one("#save-yes" if self.state.save else "#save-no", Button).focus()

    def show_status(self, text: str, *, warning: bool = False) -> None:
        """A line under the question: launching, or why it was not saved."""
        status = self.query_one("#save-status", Static)
        status.update(text)
        status.set_class(warning, "-warning")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "save-yes")

    def confirm(self) -> None:
        # Yes is the default: Enter answers No only when the No button has the focus.
        self.action_answer(self.screen.focused is not self.query_one("#save-no", Button))

    def action_answer(self, save: bool) -> None:
        """Answer the question."""
        self.show_error(None)
        self.show_status("Starting the training worker…" if save else NOT_SAVED, warning=not save)
        self.post_message(self.SaveChosen(save))

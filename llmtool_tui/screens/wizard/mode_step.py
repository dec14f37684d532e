"""Step 4: the training mode, each with a one-line explanation."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.schema import TrainingMode
from llmtool_tui.screens.wizard.step import WizardStep

#: (mode, explanation) in the specification's order.
MODES: tuple[tuple[TrainingMode, str], ...] = (
    ("quick", "one model with sensible defaults: the fastest way to a result"),
    ("benchmark", "two or more models on the same split, compared by macro F1"),
    ("custom", "one model, every hyperparameter under your control"),
    ("distributed", "one binary (one-vs-all) model per label, for multi-label data"),
)
SINGLE_LABEL_NOTE = "distributed is offered for multi-label data only; this data is single-label."


def mode_prompt(mode: str, explanation: str) -> Content:
    """``quick        one model with sensible defaults…``."""
    return Content.assemble((f"{mode:<12}", "bold"), explanation)


class ModeStep(WizardStep):
    """Choose quick, benchmark, custom or (multi-label data only) distributed."""

    DEFAULT_CSS = """
    ModeStep {
        #modes {
            height: auto;
        }
        #mode-note {
            color: $text-muted;
        }
    }
    """

    TITLE = "Training mode"
    HINT = "How to train: ↑/↓ choose."

    @dataclass
    class ModeChosen(Message):
        """A training mode was chosen."""

        mode: TrainingMode

    def compose_body(self) -> ComposeResult:
        yield OptionList(id="modes")
        yield Static("", id="mode-note", markup=False)

    def enter_step(self) -> None:
        self.refresh_step()
        self.query_one("#modes", OptionList).focus()

    def refresh_step(self) -> None:
        analysis = self.state.analysis
        multi_label = analysis is not None and analysis.dataset_config.strategy == "multi-label"
        modes = self.query_one("#modes", OptionList)
        modes.set_options(
            Option(
                mode_prompt(mode, explanation),
                id=mode,
                disabled=mode == "distributed" and not multi_label,
            )
            for mode, explanation in MODES
        )
        self.query_one("#mode-note", Static).update("" if multi_label else SINGLE_LABEL_NOTE)
        chosen = self.state.mode if multi_label or self.state.mode != "distributed" else "quick"
        modes.highlighted = modes.get_option_index(chosen)

    @on(OptionList.OptionSelected, "#modes")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.confirm()

    def confirm(self) -> None:
        option = self.query_one("#modes", OptionList).highlighted_option
        if option is None or option.disabled or option.id is None:
            self.show_error("Choose a training mode with ↑/↓.")
            return
        mode = next(mode for mode, _ in MODES if mode == option.id)
        self.post_message(self.ModeChosen(mode))

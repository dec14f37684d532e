"""Step 6: the hyperparameters, with the mode's defaults, refused inline when out of range.

The custom mode also offers the precision (a choice among four, not a number typed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.validation import ValidationResult
from textual.widgets import Input, Label, Select, Static

from engine.schema import ModelConfig, PrecisionSetting
from engine.sessions.creation import suggested_max_length
from engine.sessions.hyperparameters import (
    DEFAULT_MODEL_MAX_TOKENS,
    format_number,
    hyperparameter_warnings,
    new_session_defaults,
)
from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.validators import typed_or, validator_for


@dataclass(frozen=True)
class Hyperparameter:
    """One field of ModelConfig the step lets the user set."""

    name: str
    label: str
    help: str
    basic: bool
    """Offered in every mode; the others only in the custom mode."""


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter("epochs", "Epochs", "passes over the training data", True),
    Hyperparameter("batch_size", "Batch size", "texts per training step", True),
    # Its help names the chosen model's maximum (see _show_validation).
    Hyperparameter("max_length", "Max length", "", True),
    Hyperparameter("learning_rate", "Learning rate", "peak rate of AdamW, e.g. 2e-5", False),
    Hyperparameter("warmup_ratio", "Warmup", "share of the steps warming the rate up", False),
    Hyperparameter("weight_decay", "Weight decay", "AdamW weight decay", False),
    Hyperparameter(
        "early_stopping_patience",
        "Early-stopping patience",
        "evaluations without a better F1 before stopping",
        False,
    ),
    Hyperparameter("seed", "Seed", "initialisation, data order and split", False),
)
#: What each precision means, shown next to the choice.
PRECISION_HELP: dict[str, str] = {
    "auto": "bf16 or fp16 mixed on a GPU, fp32 on CPU",
    "fp32": "full precision everywhere",
    "bf16": "bf16 mixed (Ampere GPUs, or CPU autocast)",
    "fp16": "fp16 mixed with loss scaling (GPU only)",
}


class HyperparametersStep(WizardStep):
    """Epochs, batch size and max length in every mode; every hyperparameter in custom mode."""

    DEFAULT_CSS = """
    HyperparametersStep {
        #hyper-grid {
            grid-size: 3;
            grid-columns: 23 12 1fr;
            grid-rows: auto;
            grid-gutter: 0 1;
            height: auto;
        }
        .hyper-help {
            color: $text-muted;
        }
        .hyper-help.-invalid {
            color: $text-error;
        }
        .-hidden {
            display: none;
        }
        #hyper-others {
            margin-top: 1;
            color: $text-muted;
        }
        #hyper-warnings {
            color: $text-warning;
        }
    }
    """

    TITLE = "Hyperparameters"
    HINT = "Defaults suit most data; tab moves between the fields."

    @dataclass
    class HyperparametersChosen(Message):
        """Valid hyperparameters were entered."""

        values: dict[str, int | float | str]

    def compose_body(self) -> ComposeResult:
        with Grid(id="hyper-grid"):
            for field in HYPERPARAMETERS:
                classes = "" if field.basic else "-advanced"
                yield Label(field.label, classes=classes, markup=False)
                yield Input(
                    id=f"hyper-{field.name}-input",
                    classes=classes,
                    compact=True,
                    validate_on=["changed"],
                )
                yield Label(
                    "",
                    id=f"hyper-{field.name}-help",
                    classes=f"hyper-help {classes}",
                    markup=False,
                )
            yield Label("Precision", classes="-advanced", markup=False)
            yield Select(
                [(name, name) for name in get_args(PrecisionSetting)],
                value="auto",
                allow_blank=False,
                compact=True,
                id="hyper-precision-select",
                classes="-advanced",
            )
            yield Label(
                PRECISION_HELP["auto"],
                id="hyper-precision-help",
                classes="hyper-help -advanced",
                markup=False,
            )
        yield Static("", id="hyper-others", markup=False)
        yield Static("", id="hyper-warnings", markup=False)

    @property
    def custom(self) -> bool:
        return self.state.mode == "custom"

    def defaults(self) -> dict[str, Any]:
        """The engine's defaults of a new session, max length fitted to the texts and the model.

        The mode decides which of them the user sees: all in custom mode, the basic ones else.
        """
        defaults = new_session_defaults()
        analysis = self.state.analysis
        if analysis is not None:
            p95 = analysis.text_analysis.text_length_stats.token_p95
            defaults["max_length"] = suggested_max_length(p95, self.max_tokens())
        return {field.name: defaults[field.name] for field in HYPERPARAMETERS}

    def max_tokens(self) -> int:
        return self.state.model_max_tokens or DEFAULT_MODEL_MAX_TOKENS

    def enter_step(self) -> None:
        self.refresh_step()
        self.query_one("#hyper-epochs-input", Input).focus()

    def refresh_step(self) -> None:
        """Show each field's typed value, or the mode's default when it was not edited."""
        defaults = self.defaults()
        for field in HYPERPARAMETERS:
            field_input = self.query_one(f"#hyper-{field.name}-input", Input)
            field_input.validators = [validator_for(field.name, self.max_tokens())]
            typed = self.state.hyperparameters.get(field.name)
            field_input.value = typed if typed is not None else format_number(defaults[field.name])
            self._show_validation(field.name, field_input.validate(field_input.value))
        precision = self.query_one("#hyper-precision-select", Select)
        precision.value = self.state.hyperparameters.get("precision", "auto")
        for widget in self.query(".-advanced"):
            widget.set_class(not self.custom, "-hidden")
        others = self.query_one("#hyper-others", Static)
        if self.custom:
            others.update("")
        else:
            kept = ", ".join(
                f"{field.label.lower()} {format_number(defaults[field.name])}"
                for field in HYPERPARAMETERS
                if not field.basic
            )
            others.update(f"Defaults kept: {kept}. The custom mode sets them all.")
        self._show_warnings()

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.stop()
        name = (event.input.id or "").removeprefix("hyper-").removesuffix("-input")
        if not name:
            return
        default = format_number(self.defaults()[name])
        # A value equal to the default is no edit: it follows the default if that changes.
        if event.value.strip() == default:
            self.state.hyperparameters.pop(name, None)
        else:
            self.state.hyperparameters[name] = event.value
        self._show_validation(name, event.validation_result)
        self._show_warnings()
        self.show_error(None)

    @on(Select.Changed, "#hyper-precision-select")
    def _precision_chosen(self, event: Select.Changed) -> None:
        event.stop()
        chosen = str(event.value)
        # Kept as typed, like the fields: "auto", the default, is no edit.
        if chosen == "auto":
            self.state.hyperparameters.pop("precision", None)
        else:
            self.state.hyperparameters["precision"] = chosen
        self.query_one("#hyper-precision-help", Label).update(PRECISION_HELP[chosen])

    def _show_warnings(self) -> None:
        """Values allowed but probably a mistake for this dataset (they do not stop the step)."""
        analysis = self.state.analysis
        values = {
            name: typed_or(
                name,
                self.query_one(f"#hyper-{name}-input", Input).value,
                self.defaults()[name],
            )
            for name in ("batch_size", "max_length")
        }
        warnings = (
            hyperparameter_warnings(
                ModelConfig.model_validate(values), analysis.dataset_config, analysis.text_analysis
            )
            if analysis is not None
            else []
        )
        self.query_one("#hyper-warnings", Static).update(
            "\n".join(f"⚠ {warning}" for warning in warnings)
        )

    def _show_validation(self, name: str, result: ValidationResult | None) -> None:
        """The field's help, or why its value is refused, next to it."""
        help_label = self.query_one(f"#hyper-{name}-help", Label)
        if result is not None and not result.is_valid:
            help_label.update(" ".join(result.failure_descriptions))
            help_label.add_class("-invalid")
            return
        if name == "max_length":
            help_label.update(f"tokens per text; the model takes {self.max_tokens()}")
        else:
            help_label.update(next(field.help for field in HYPERPARAMETERS if field.name == name))
        help_label.remove_class("-invalid")

    def confirm(self) -> None:
        values: dict[str, int | float | str] = {}
        defaults = self.defaults()
        for field in HYPERPARAMETERS:
            field_input = self.query_one(f"#hyper-{field.name}-input", Input)
            if not (field.basic or self.custom):
                values[field.name] = defaults[field.name]
                continue
            result = field_input.validate(field_input.value)
            self._show_validation(field.name, result)
            if result is not None and not result.is_valid:
                field_input.focus()
                self.show_error(f"{field.label}: {' '.join(result.failure_descriptions)}")
                return
            values[field.name] = validator_for(field.name, self.max_tokens()).parse(
                field_input.value
            )
        if self.custom:
            values["precision"] = str(self.query_one("#hyper-precision-select", Select).value)
        self.post_message(self.HyperparametersChosen(values))

"""Relaunch with edits: the dataset path, the model and every hyperparameter the wizard sets.

The form is checked before anything starts: numbers are validated as they are typed, within the
engine's bounds (the ones ``relaunch --set`` applies), the dataset path when the form is
submitted; values that are allowed but probably a mistake for the session's data are warned
about. Enter submits from any field. Only what was changed is returned, as the ``dataset`` and
``overrides`` arguments of ``Engine.relaunch``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.validation import Function, ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from engine.files import expand_user
from engine.schema import TrainingMetadata
from engine.sessions.hyperparameters import format_number, hyperparameter_warnings
from llmtool_tui.dialogs.form import FormDialog
from llmtool_tui.untrusted import visible
from llmtool_tui.validators import typed_or, validator_for


@dataclass(frozen=True)
class RelaunchEdits:
    """What to change for the new session."""

    dataset: Path | None = None
    """The new dataset file, or None to keep the recorded one."""
    overrides: dict[str, str] = field(default_factory=dict)
    """Changed settings by name (``model`` or ``models``, then ModelConfig's fields: ``epochs``,
    ``batch_size``...), as typed: the ``overrides`` of ``Engine.relaunch``."""


class ExistingFile(Validator):
    """The value names an existing file (``~`` expanded)."""

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure("give the path of the dataset file")
        path = expand_user(value.strip())
        if path.is_dir():
            return self.failure(f"{path} is a directory; give the path of a data file")
        if not path.is_file():
            return self.failure(f"{path} does not exist; check the path")
        return self.success()


def _bounds_of(name: str) -> list[Validator]:
    return [validator_for(name)]


#: Hyperparameters offered after the dataset and the model: (ModelConfig field, label).
HYPERPARAMETER_FIELDS: tuple[tuple[str, str], ...] = (
    ("epochs", "Epochs"),
    ("batch_size", "Batch size"),
    ("max_length", "Max length"),
    ("learning_rate", "Learning rate"),
    ("warmup_ratio", "Warmup"),
    ("weight_decay", "Weight decay"),
    ("early_stopping_patience", "Patience"),
    ("seed", "Seed"),
)
#: (field name, label, validators, validate while typing). The dataset is only checked on
#: submit: checking a path at every key press would stat the disk (or a network share) each time.
FIELDS: tuple[tuple[str, str, list[Validator], bool], ...] = (
    ("dataset", "Dataset path", [ExistingFile()], False),
    (
        "model",
        "Model",
        [Function(lambda v: bool(v.strip()), "give a model name or directory")],
        True,
    ),
    *((name, label, _bounds_of(name), True) for name, label in HYPERPARAMETER_FIELDS),
)


def current_values(metadata: TrainingMetadata) -> dict[str, str]:
    """The form's initial values, from the session's metadata.

    The dataset and the models are shown escaped: an input would pass their control characters
    to the terminal. Left as shown, they are not changed (only what differs from these values
    is an edit).
    """
    config = metadata.training_model_config
    return {
        "dataset": visible(metadata.dataset_config.primary_file or ""),
        "model": ", ".join(visible(model) for model in config.models()),
        **{name: format_number(getattr(config, name)) for name, _ in HYPERPARAMETER_FIELDS},
    }


class RelaunchEditDialog(FormDialog[RelaunchEdits]):
    """The relaunch form; dismissed with the edits, or None when cancelled."""

    SUBMIT_BUTTON = "relaunch"

    def __init__(self, metadata: TrainingMetadata) -> None:
        super().__init__()
        self.metadata = metadata
        self.session_id = metadata.session_id
        self.initial = current_values(metadata)
        self.recorded_dataset = metadata.dataset_config.primary_file or ""
        """The dataset path as recorded: the field shows it escaped, and an untouched field
        stands for this path, not for its escaped spelling."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(
                f"Relaunch {visible(self.session_id)} with edits",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                "A new session starts with these values; the original is unchanged.",
                classes="dialog-body",
            )
            with Grid(id="relaunch-form"):
                for name, label, validators, live in FIELDS:
                    yield Label(label, classes="form-label")
                    yield Input(
                        self.initial[name],
                        id=f"field-{name}",
                        classes="-whole-row" if name in ("dataset", "model") else "",
                        validators=validators,
                        validate_on=["changed", "submitted"] if live else ["submitted"],
                        compact=True,
                    )
            yield Static(id="relaunch-errors", classes="form-errors")
            yield Static(id="relaunch-warnings", classes="form-warnings")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Relaunch", variant="primary", id="relaunch")
                yield Button("Cancel (Esc)", id="cancel")

    @on(Input.Changed)
    def _show_live_errors(self) -> None:
        self._show_errors(submitting=False)

    def _show_errors(self, *, submitting: bool) -> list[str]:
        errors = []
        for name, label, _, live in FIELDS:
            field_input = self.query_one(f"#field-{name}", Input)
            if not (live or submitting):
                continue
            value = field_input.value
            if name == "dataset" and value == self.initial["dataset"]:
                value = self.recorded_dataset
            result = field_input.validate(value)
            if result is not None and not result.is_valid:
                errors.append(f"{label}: {'; '.join(result.failure_descriptions)}")
                if submitting and len(errors) == 1:
                    field_input.focus()
        self.query_one("#relaunch-errors", Static).update(Text("\n".join(errors)))
        self._show_warnings()
        return errors

    def _show_warnings(self) -> None:
        """Values allowed but probably a mistake for the session's data (they do not stop it).

        Only while the dataset is the session's: another file's sizes are not known before it
        is analysed.
        """
        config = self.metadata.training_model_config
        dataset = self.query_one("#field-dataset", Input).value
        values = {
            name: typed_or(
                name, self.query_one(f"#field-{name}", Input).value, getattr(config, name)
            )
            for name in ("batch_size", "max_length")
        }
        warnings = (
            hyperparameter_warnings(
                config.model_copy(update=values),
                self.metadata.dataset_config,
                self.metadata.text_analysis,
            )
            if dataset == self.initial["dataset"]
            else []
        )
        self.query_one("#relaunch-warnings", Static).update(
            Text("\n".join(f"⚠ {warning}" for warning in warnings))
        )

    def submit(self) -> None:
        """Validate every field, then dismiss with what changed."""
        if self._show_errors(submitting=True):
            return
        values = {
            name: self.query_one(f"#field-{name}", Input).value.strip() for name, *_ in FIELDS
        }
        dataset_value = values.pop("dataset")
        dataset = expand_user(dataset_value) if dataset_value != self.initial["dataset"] else None
        overrides = {name: value for name, value in values.items() if value != self.initial[name]}
        if "," in overrides.get("model", ""):
            # Several models: the list a benchmark trains, not one model's name.
            overrides["models"] = overrides.pop("model")
        self.dismiss(RelaunchEdits(dataset=dataset, overrides=overrides))

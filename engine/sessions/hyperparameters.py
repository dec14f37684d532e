"""The hyperparameters of a session: their defaults for a new one, their limits, their warnings.

The one definition used by every way of setting them: ``train``'s flags, ``relaunch --set``, the
wizard's hyperparameters step and the edit-and-relaunch dialog. A value outside its limits is
refused; a value that is allowed but probably a mistake (a batch larger than the training set, a
max length that cuts many texts) gives a warning and trains.

The schema's own defaults (ModelConfig) are how a document that lacks a key is read, which must
not change for files already written; a new session starts from ``new_session_defaults`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only annotations: the app imports this module (through its validators) before its first
    # frame, which must not wait for pydantic.
    from engine.schema import DatasetConfig, ModelConfig, TextAnalysis

MAX_SEED = 2**32 - 1
#: The largest batch accepted: well above what fits a BERT-base on one GPU at 512 tokens; a
#: larger number is a typo (an extra zero), not a plan.
MAX_BATCH_SIZE = 4096
#: Max length when the model's own maximum is unknown (BERT-like models take 512).
DEFAULT_MODEL_MAX_TOKENS = 512

#: A new session's hyperparameters: what fine-tuning a pre-trained BERT-like model usually
#: wants (linear warmup over 10% of the steps, AdamW weight decay 0.01).
NEW_SESSION_DEFAULTS: dict[str, Any] = {
    "epochs": 3,
    "batch_size": 16,
    # Replaced by the length that keeps 95% of the texts whole, once the texts are analysed.
    "max_length": 128,
    "learning_rate": 2e-5,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "early_stopping_patience": 2,
    "seed": 42,
}
#: The demo model is not pre-trained: it needs a much higher learning rate and more epochs.
#: (Measured on the bundled sample: about 0.85-0.9 validation accuracy after 8 epochs.)
DEMO_MODEL_DEFAULTS: dict[str, Any] = NEW_SESSION_DEFAULTS | {
    "epochs": 8,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "early_stopping_patience": 3,
}


def format_number(value: float) -> str:
    """A number as the user would type it (``2e-05``, ``0.1``, ``3``, ``4294967295``)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return str(int(value))


@dataclass(frozen=True)
class Bound:
    """The values one hyperparameter accepts."""

    integer: bool
    minimum: float
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def description(self, maximum: float | None = None) -> str:
        """``a whole number from 1 to 4096``, ``a number > 0 and ≤ 1``."""
        high = self.maximum if maximum is None else maximum
        kind = "a whole number" if self.integer else "a number"
        low = format_number(self.minimum)
        if high is None:
            return f"{kind} {'>' if self.exclusive_minimum else '≥'} {low}"
        if self.exclusive_minimum or self.exclusive_maximum:
            return (
                f"{kind} {'>' if self.exclusive_minimum else '≥'} {low} and "
                f"{'<' if self.exclusive_maximum else '≤'} {format_number(high)}"
            )
        return f"{kind} from {low} to {format_number(high)}"

    def accepts(self, value: float, maximum: float | None = None) -> bool:
        """Whether ``value`` is within the bounds (``maximum`` overrides the upper one)."""
        high = self.maximum if maximum is None else maximum
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        if self.integer and not float(value).is_integer():
            return False
        low_ok = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        high_ok = high is None or (value < high if self.exclusive_maximum else value <= high)
        return low_ok and high_ok

    def parse(self, text: str) -> int | float:
        """The value typed, as a number. Raises ValueError when it is not one of the kind."""
        number = int(text.strip()) if self.integer else float(text.strip())
        if not math.isfinite(number):
            raise ValueError(text)
        return number


BOUNDS: dict[str, Bound] = {
    "epochs": Bound(integer=True, minimum=1, maximum=1000),
    "batch_size": Bound(integer=True, minimum=1, maximum=MAX_BATCH_SIZE),
    # The upper bound is the model's maximum, known once the model is chosen.
    "max_length": Bound(integer=True, minimum=8),
    "learning_rate": Bound(integer=False, minimum=0, maximum=1, exclusive_minimum=True),
    "warmup_ratio": Bound(integer=False, minimum=0, maximum=1, exclusive_maximum=True),
    "weight_decay": Bound(integer=False, minimum=0, maximum=1),
    "early_stopping_patience": Bound(integer=True, minimum=1, maximum=1000),
    "seed": Bound(integer=True, minimum=0, maximum=MAX_SEED),
    "torch_threads": Bound(integer=True, minimum=1, maximum=4096),
    "eval_steps": Bound(integer=True, minimum=1),
}


def new_session_defaults(*, demo_model: bool = False) -> dict[str, Any]:
    """The hyperparameters a new session starts from (a copy)."""
    return dict(DEMO_MODEL_DEFAULTS if demo_model else NEW_SESSION_DEFAULTS)


def validate_hyperparameters(config: ModelConfig, *, max_tokens: int | None = None) -> list[str]:
    """What is wrong with a configuration's values (empty when nothing).

    ``max_tokens`` is the model's maximum length, when known.
    """
    problems: list[str] = []
    for name, bound in BOUNDS.items():
        value = getattr(config, name)
        maximum = max_tokens if name == "max_length" else None
        if value is not None and not bound.accepts(value, maximum):
            problems.append(
                f"{name} must be {bound.description(maximum)} (got {format_number(value)})"
            )
    models = config.models()
    if config.training_mode == "benchmark" and len(models) < 2:
        problems.append("benchmark mode needs two or more models")
    if config.training_mode != "benchmark" and len(models) > 1:
        problems.append(
            f"{config.training_mode} mode trains one model, {len(models)} given;"
            " the benchmark mode compares several"
        )
    return problems


def hyperparameter_warnings(
    config: ModelConfig, dataset: DatasetConfig, texts: TextAnalysis
) -> list[str]:
    """Values that are allowed but probably a mistake for this dataset, one line each.

    ``dataset`` and ``texts`` give the split's sizes and the token statistics (of an analysis,
    or of the session being relaunched).
    """
    warnings: list[str] = []
    train_rows = dataset.split.train_size
    if train_rows and config.batch_size > train_rows:
        warnings.append(
            f"batch size {config.batch_size} is larger than the {train_rows:,} training rows:"
            " each epoch is one step, which trains poorly; 16 or 32 is usual"
        )
    p95 = texts.text_length_stats.token_p95
    if p95 and config.max_length < p95:
        warnings.append(
            f"max length {config.max_length} cuts more than 1 text in 20: 5% of the texts have"
            f" over {format_number(p95)} tokens (their token p95)"
        )
    return warnings

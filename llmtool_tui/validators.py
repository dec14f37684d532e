"""Validators of typed hyperparameters, from the engine's one definition of their bounds.

The wizard's hyperparameters step and the edit-and-relaunch dialog refuse the same values, with
the same words, as ``train`` and ``relaunch --set`` (engine.sessions.hyperparameters).
"""

from __future__ import annotations

from textual.validation import ValidationResult, Validator

from engine.sessions.hyperparameters import BOUNDS, Bound


class InRange(Validator):
    """A value within the engine's bounds of one hyperparameter, described in one sentence when
    it is not."""

    def __init__(self, bound: Bound, maximum: float | None = None) -> None:
        self.bound = bound
        self.maximum = maximum
        """Overrides the bound's upper limit (max length: the model's maximum)."""
        super().__init__(failure_description=f"Must be {bound.description(maximum)}.")

    def parse(self, value: str) -> int | float:
        """The value as a number. Raises ValueError."""
        return self.bound.parse(value)

    def validate(self, value: str) -> ValidationResult:
        try:
            number = self.parse(value)
        except ValueError:
            return self.failure(value=value)
        return self.success() if self.bound.accepts(number, self.maximum) else self.failure()


def validator_for(name: str, max_tokens: int | None = None) -> InRange:
    """The bounds of a hyperparameter: the engine's, max length within the model's maximum."""
    return InRange(BOUNDS[name], max_tokens if name == "max_length" else None)


def typed_or(name: str, text: str, fallback: float) -> float:
    """The number typed for ``name``, or ``fallback`` while what is typed is not one (warnings
    about the values are computed as the user types)."""
    try:
        return validator_for(name).parse(text)
    except ValueError:
        return fallback

"""The wizard's state: every choice made so far, the source of truth of every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.schema import ModelConfig, TrainingMetadata, TrainingMode
from llmtool_tui.screens.wizard.models_step import ModelChoice

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis
    from engine.facade import Engine


@dataclass
class WizardState:
    """Every choice made so far, and what the analysis found."""

    dataset: str = ""
    """The dataset path as typed."""
    dataset_path: Path | None = None
    """The file analysed."""
    columns: list[str] = field(default_factory=list)
    """Columns of the file."""
    text_column: str | None = None
    """None: detected by the analysis."""
    label_columns: list[str] = field(default_factory=list)
    """Empty: detected by the analysis."""
    language_column: str | None = None
    header: bool | None = None
    """Whether the first row of a CSV/TSV file names the columns; None: detected."""
    label_delimiter: str | None = None
    """The delimiter joining several labels in one cell; None: detected."""
    file_format: str | None = None
    """The format the latest successful analysis read the file as (csv, tsv, jsonl...)."""
    drop_rare_classes: bool = False
    analysis: DatasetAnalysis | None = None
    """The latest successful analysis of the current choices (None after a failed one)."""
    mode: TrainingMode = "quick"
    models: list[str] = field(default_factory=list)
    added_models: list[ModelChoice] = field(default_factory=list)
    """Models the user typed, kept in the list when coming back."""
    last_model: ModelChoice | None = None
    """The newest session's model: chosen when the models step is first shown."""
    model_max_tokens: int | None = None
    """Smallest maximum length of the chosen models."""
    hyperparameters: dict[str, str] = field(default_factory=dict)
    """Values as typed, for the fields the user edited."""
    chosen_hyperparameters: dict[str, int | float | str] = field(default_factory=dict)
    """The validated values of the hyperparameters step."""
    save: bool = True

    def forget_columns(self) -> None:
        """Back to detecting the columns: the file, or its header, changed, and columns chosen
        before would name columns it no longer has."""
        self.columns = []
        self.text_column = None
        self.label_columns = []
        self.language_column = None

    def model_config(self) -> ModelConfig:
        """The ``model_config`` section of the choices."""
        return ModelConfig.model_validate(
            {
                **self.chosen_hyperparameters,
                "training_mode": self.mode,
                "selected_model": self.models[0] if self.models else None,
                "selected_models": list(self.models),
                "recommended_model": self.analysis.recommended_model if self.analysis else None,
            }
        )

    def preview(self, engine: Engine) -> TrainingMetadata | None:
        """The metadata the session will start with (ids aside), or None while incomplete."""
        if self.analysis is None or not self.models or not self.chosen_hyperparameters:
            return None
        return engine.preview_session(self.analysis, self.model_config())

"""The "Selected Session Details" rows of a session, shared by ``show`` and the TUI's detail screen.

Values are plain strings; the UI shows them literally (never as markup).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from engine.rows import dataset_label, short_model_name

if TYPE_CHECKING:
    from engine.schema import TrainingMetadata

#: Detail rows whose value keeps its lines; every other value is shown on one line.
MULTI_LINE_ROWS = frozenset({"Notes"})
#: Longest value shown in a detail row. A collaborator's file may hold megabytes in one field
#: (notes, an error); laying that out would freeze a terminal for many seconds.
MAX_SHOWN_CHARACTERS = 2_000


def shorten(text: str) -> str:
    """``text``, cut at MAX_SHOWN_CHARACTERS with a note saying where the rest is."""
    if len(text) <= MAX_SHOWN_CHARACTERS:
        return text
    hidden = len(text) - MAX_SHOWN_CHARACTERS
    return f"{text[:MAX_SHOWN_CHARACTERS]}… ({hidden:,} more characters; `show --json` has it all)"


def _fmt(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return shorten(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return shorten(", ".join(f"{k}: {v}" for k, v in value.items()))
    return shorten(str(value))


def specification_rows(metadata: TrainingMetadata, status: str) -> list[tuple[str, str]]:
    """The rows the specification lists, in its order."""
    config = metadata.training_model_config
    models = config.models()
    return [
        ("Timestamp", metadata.training_session.timestamp),
        ("Workflow", metadata.training_session.workflow),
        ("Dataset", dataset_label(metadata.dataset_config.primary_file)),
        ("Strategy", metadata.dataset_config.strategy),
        ("Total Samples", str(metadata.dataset_config.total_samples)),
        ("Training Mode", config.training_mode),
        ("Model", ", ".join(short_model_name(model) for model in models) if models else "-"),
        ("Epochs", str(config.epochs)),
        ("Batch Size", str(config.batch_size)),
        ("Status", status),
    ]


def _model_path_rows(models: list[str]) -> list[tuple[str, str]]:
    """The "Model Path" row: the recorded models, when the "Model" row shortened one of them."""
    if all(short_model_name(model) == model for model in models):
        return []
    return [("Model Path", _fmt(models))]


def extended_rows(metadata: TrainingMetadata) -> list[tuple[str, str]]:
    """Everything else the metadata knows that a researcher looks for."""
    dataset = metadata.dataset_config
    languages = metadata.language_config
    tokens = metadata.text_analysis
    config = metadata.training_model_config
    execution = metadata.execution_status
    paths = metadata.output_paths
    stats = tokens.text_length_stats
    rows: list[tuple[str, str]] = [
        ("Session ID", metadata.session_id),
        ("Parent Session", _fmt(metadata.training_session.parent_session_id)),
        ("Dataset Path", _fmt(dataset.primary_file)),
        *_model_path_rows(config.models()),
        ("Text Column", _fmt(dataset.text_column)),
        ("Label Column(s)", _fmt(dataset.label_columns or dataset.label_column)),
        ("Categories", f"{dataset.num_categories}: {_fmt(dataset.category_distribution)}"),
        ("Languages", _fmt(languages.confirmed_languages)),
        ("Language Distribution", _fmt(languages.language_distribution)),
        ("Model Strategy", languages.model_strategy),
        (
            "Tokens (mean/median/p95/max)",
            f"{_fmt(stats.token_mean)} / {_fmt(stats.token_median)} / "
            f"{_fmt(stats.token_p95)} / {_fmt(stats.token_max)}",
        ),
        ("Long Documents", "yes" if tokens.requires_long_document_model else "no"),
        ("Learning Rate", _fmt(config.learning_rate)),
        ("Max Length", str(config.max_length)),
        ("Warmup / Weight Decay", f"{_fmt(config.warmup_ratio)} / {_fmt(config.weight_decay)}"),
        (
            "Early Stopping",
            f"patience {config.early_stopping_patience}" if config.early_stopping else "off",
        ),
        ("Seed", str(config.seed)),
        ("Started", _fmt(execution.started_at)),
        ("Completed", _fmt(execution.completed_at)),
        ("Models Trained", _fmt(execution.models_trained)),
        ("Best Model", _fmt(execution.best_model)),
        ("Best F1", _fmt(execution.best_f1)),
        ("Best Model Path", _fmt(execution.best_model_path)),
        ("Last Checkpoint", _fmt(execution.last_checkpoint)),
        ("Error", _fmt(execution.error_message)),
        ("Results CSV", _fmt(paths.results_csv)),
        ("Run Directory", _fmt(paths.run_dir)),
        ("Host", _fmt(execution.host)),
        ("Tags", _fmt(metadata.tags)),
        ("Notes", _fmt(metadata.notes)),
    ]
    return rows


def detail_rows(metadata: TrainingMetadata, status: str) -> Iterable[tuple[str, str]]:
    """Specification rows first, then the extended ones; long values shortened."""
    return [
        (name, shorten(value))
        for name, value in (*specification_rows(metadata, status), *extended_rows(metadata))
    ]

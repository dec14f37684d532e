"""The "Selected Session Details" rows of a session, shared by ``show`` and the TUI's detail screen.

Values are plain strings; the UI shows them literally (never as markup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from engine.rows import dataset_label, short_model_name

if TYPE_CHECKING:
    from engine.progress import EvaluationDone
    from engine.schema import TrainingEnding, TrainingMetadata

#: The row naming a model that predicted one class for the whole validation set.
WARNINGS_ROW = "Warnings"
#: The runs of the best model over other files (``predict``), one a line.
PREDICTIONS_ROW = "Predictions"
#: Detail rows whose value keeps its lines; every other value is shown on one line.
MULTI_LINE_ROWS = frozenset({"Notes", WARNINGS_ROW, PREDICTIONS_ROW})
#: How every time is shown: local time, to the second.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: ``training_session.timestamp``: local time of the machine that created the session.
TIMESTAMP_FORMAT = "%Y%m%d_%H%M%S"
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


def local_time(value: datetime | None) -> str:
    """``value`` in this machine's local time, ``YYYY-MM-DD HH:MM:SS``; ``-`` for none."""
    return "-" if value is None else value.astimezone().strftime(TIME_FORMAT)


def timestamp_label(timestamp: str) -> str:
    """A session's ``YYYYMMDD_HHMMSS`` timestamp as ``YYYY-MM-DD HH:MM:SS``; as written when it
    is not one (another tool's file)."""
    try:
        return datetime.strptime(timestamp, TIMESTAMP_FORMAT).strftime(TIME_FORMAT)
    except ValueError:
        return timestamp


def specification_rows(metadata: TrainingMetadata, status: str) -> list[tuple[str, str]]:
    """The rows the specification lists, in its order."""
    config = metadata.training_model_config
    models = config.models()
    return [
        ("Timestamp", timestamp_label(metadata.training_session.timestamp)),
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


def _best_f1(metadata: TrainingMetadata, evaluations: Sequence[EvaluationDone]) -> str:
    """The recorded best F1; before one is recorded (a run going on, or stopped), the best of
    the evaluations so far, and which one it was."""
    from engine.evaluations import best_evaluation, evaluation_label

    recorded = metadata.execution_status.best_f1
    best = best_evaluation(evaluations)
    if recorded is not None or best is None or best.macro_f1 is None:
        return _fmt(recorded)
    model = f"{short_model_name(best.model)}, " if _is_benchmark(metadata) and best.model else ""
    return f"{best.macro_f1:.4g} so far ({model}{evaluation_label(best)})"


def _is_benchmark(metadata: TrainingMetadata) -> bool:
    config = metadata.training_model_config
    return config.training_mode == "benchmark" and len(config.models()) > 1


def _resumed_rows(metadata: TrainingMetadata) -> list[tuple[str, str]]:
    resumed = metadata.execution_status.resumed_at
    return [("Resumed At", ", ".join(local_time(time) for time in resumed))] if resumed else []


#: The row saying why a model's training stopped, and where its best model came from.
ENDING_ROW = "How It Ended"


def _step_and_epoch(step: int | None, epoch: float | None, max_steps: int | None = None) -> str:
    where = f"step {step if step is not None else '?'}"
    if max_steps is not None:
        where += f"/{max_steps}"
    return where + (f" (epoch {epoch:g})" if epoch is not None else "")


def ending_text(ending: TrainingEnding) -> str:
    """``early stopping: no better macro F1 for 3 evaluations at step 420/480 (epoch 7); best
    model at step 240 (epoch 4), macro F1 0.81``."""
    text = f"{ending.message} at {_step_and_epoch(ending.step, ending.epoch, ending.max_steps)}"
    if ending.best_step is not None:
        best = _step_and_epoch(ending.best_step, ending.best_epoch)
        text += f"; best model at {best}, macro F1 {_fmt(ending.best_f1)}"
    return text


def _ending_rows(metadata: TrainingMetadata) -> list[tuple[str, str]]:
    endings = metadata.execution_status.endings
    if len(endings) == 1 and not endings[0].label and not _is_benchmark(metadata):
        return [(ENDING_ROW, ending_text(endings[0]))]
    # A row per model: named by its label in distributed mode (joy), else by its name.
    return [
        (f"{ENDING_ROW} ({ending.label or short_model_name(ending.model)})", ending_text(ending))
        for ending in endings
    ]


def _choice_rows(metadata: TrainingMetadata) -> list[tuple[str, str]]:
    choice = metadata.execution_status.best_model_choice
    return [("Best Model Choice", choice)] if choice else []


def prediction_warnings(evaluations: Sequence[EvaluationDone]) -> list[str]:
    """A warning for each model whose best evaluation predicted one class for every text.

    Such a model learned nothing but the majority (or a random) class; its macro F1 alone does
    not say so plainly.
    """
    from engine.evaluations import (
        best_evaluation,
        by_model,
        evaluation_label,
        single_predicted_class,
    )

    warnings = []
    for model, done in by_model(evaluations).items():
        best = best_evaluation(done)
        only = single_predicted_class(best) if best is not None else None
        if best is not None and only is not None:
            name = short_model_name(model) if model else "the model"
            warnings.append(
                f"{name} predicted only class {only} on the whole validation set"
                f" (its best evaluation, {evaluation_label(best)})"
            )
    return warnings


def _warning_rows(evaluations: Sequence[EvaluationDone]) -> list[tuple[str, str]]:
    warnings = prediction_warnings(evaluations)
    return [(WARNINGS_ROW, "\n".join(warnings))] if warnings else []


@dataclass(frozen=True)
class ModelResult:
    """One model of a benchmark: its best evaluation so far and where its training stands."""

    model: str
    """The model as recorded (hub id or path)."""
    best_f1: float | None
    best_at: str
    """``epoch 2 · step 40`` of the best evaluation; ``-`` before the first one."""
    status: str
    """``completed``, the session's status for the model being trained, else ``pending``."""

    @property
    def name(self) -> str:
        """The model as the detail shows it (a local directory by its name)."""
        return short_model_name(self.model)

    def to_json(self) -> dict[str, object]:
        """The ``show --json`` entry."""
        return {
            "model": self.model,
            "best_f1": self.best_f1,
            "best_at": self.best_at,
            "status": self.status,
        }


def model_results(
    metadata: TrainingMetadata, status: str, evaluations: Sequence[EvaluationDone]
) -> list[ModelResult]:
    """A benchmark's models in training order, with their results; empty for other sessions.

    Args:
        status: the session's live status, shown for the model being trained.
    """
    from engine.evaluations import best_evaluation, by_model, evaluation_label

    if not _is_benchmark(metadata):
        return []
    execution = metadata.execution_status
    done = by_model(evaluations)
    results = []
    for model in metadata.training_model_config.models():
        best = best_evaluation(done.get(model, []))
        if model in execution.models_trained:
            state = "completed"
        elif model == execution.current_model:
            state = status
        else:
            state = "pending" if status != "completed" else "-"
        results.append(
            ModelResult(model, best.macro_f1 if best else None, evaluation_label(best), state)
        )
    return results


def _prediction_rows(metadata: TrainingMetadata) -> list[tuple[str, str]]:
    lines = []
    for done in metadata.predictions:
        scores = (
            f", macro F1 {done.macro_f1:.4f}, accuracy {done.accuracy:.4f}"
            f" ({done.evaluated_rows:,} rows with labels)"
            if None not in (done.macro_f1, done.accuracy, done.evaluated_rows)
            else ""
        )
        lines.append(
            f"{local_time(done.finished_at)}: {dataset_label(done.file)} ({done.rows:,} rows)"
            f" -> {done.output}{scores}"
        )
    return [(PREDICTIONS_ROW, "\n".join(lines))] if lines else []


def extended_rows(
    metadata: TrainingMetadata, evaluations: Sequence[EvaluationDone] = ()
) -> list[tuple[str, str]]:
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
        ("Started", local_time(execution.started_at)),
        *_resumed_rows(metadata),
        ("Completed", local_time(execution.completed_at)),
        *_ending_rows(metadata),
        ("Models Trained", _fmt(execution.models_trained)),
        ("Best Model", _fmt(execution.best_model)),
        *_choice_rows(metadata),
        ("Best F1", _best_f1(metadata, evaluations)),
        *_warning_rows(evaluations),
        ("Best Model Path", _fmt(execution.best_model_path)),
        *_prediction_rows(metadata),
        ("Last Checkpoint", _fmt(execution.last_checkpoint)),
        ("Error", _fmt(execution.error_message)),
        ("Results CSV", _fmt(paths.results_csv)),
        ("Run Directory", _fmt(paths.run_dir)),
        ("Host", _fmt(execution.host)),
        ("Tags", _fmt(metadata.tags)),
        ("Notes", _fmt(metadata.notes)),
    ]
    return rows


def detail_rows(
    metadata: TrainingMetadata, status: str, evaluations: Sequence[EvaluationDone] = ()
) -> Iterable[tuple[str, str]]:
    """Specification rows first, then the extended ones; long values shortened.

    Args:
        evaluations: the run's evaluations so far (the best F1 of a run going on, warnings).
    """
    return [
        (name, shorten(value))
        for name, value in (
            *specification_rows(metadata, status),
            *extended_rows(metadata, evaluations),
        )
    ]

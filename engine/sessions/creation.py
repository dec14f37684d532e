"""Creating sessions: new ones from an analysis, and relaunches of existing ones.

A session is created ``pending`` with a fresh uuid and no environment yet; the worker fills the
rest when it runs. ``create_session`` writes it through the store (saved sessions, listed and
resumable) or only into its run directory (``save=False``: trains, but cannot be resumed or
listed). Importable without torch.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.errors import BadInputError, Remedy
from engine.files import expand_user, open_regular, why_unreadable
from engine.schema import (
    DatasetConfig,
    ExecutionStatus,
    LanguageConfig,
    ModelConfig,
    OutputPaths,
    TextAnalysis,
    TrainingMetadata,
    TrainingSession,
    new_session_uuid,
)
from engine.sessions.hyperparameters import validate_hyperparameters
from engine.sessions.models import absolute_model_name, no_model_chosen
from engine.sessions.resumability import UNSAVED_METADATA_NAME
from engine.store import SessionStore

#: ``--set`` names that are not ModelConfig fields but say the same thing more simply.
OVERRIDE_ALIASES = {
    "model": "selected_model",
    "models": "selected_models",
    "mode": "training_mode",
    "patience": "early_stopping_patience",
    "warmup": "warmup_ratio",
    "lr": "learning_rate",
}
#: Fields a relaunch must not take from ``--set``: they describe the source, not the training.
NOT_OVERRIDABLE = frozenset({"recommended_model"})

#: The fix of a relaunch whose recorded dataset is missing.
_PUT_DATASET_BACK = Remedy(
    shell="put it back, or relaunch with --dataset NEW_PATH",
    app="put it back, or press e to relaunch on another file",
)


def workflow_name(mode: str) -> str:
    """``Training Studio - Quick`` and so on, as the original tool named workflows."""
    return f"Training Studio - {mode.capitalize()}"


def _section(analysis: Any, name: str) -> Any:
    if isinstance(analysis, Mapping):
        return analysis.get(name)
    return getattr(analysis, name, None)


def build_session_metadata(
    analysis: Any,
    model_config: ModelConfig,
    *,
    workflow: str | None = None,
    now: datetime | None = None,
) -> TrainingMetadata:
    """A new ``pending`` session from a dataset analysis and the model configuration.

    Args:
        analysis: a ``DatasetAnalysis`` or a mapping with its sections (``dataset_config``,
            ``language_config``, ``text_analysis``), as models or plain dictionaries.
        model_config: model choice and hyperparameters.
        workflow: the workflow description; default from the training mode.
        now: creation time (default: now), which names the session.

    Raises:
        BadInputError: the analysis has no dataset_config, or the model configuration names no
            model.
    """
    dataset = _section(analysis, "dataset_config")
    if dataset is None:
        raise BadInputError("the analysis has no dataset_config; analyse the dataset first")
    if not model_config.models():
        raise no_model_chosen()
    created = now or datetime.now()
    return TrainingMetadata(
        training_session=TrainingSession(
            timestamp=created.strftime("%Y%m%d_%H%M%S"),
            workflow=workflow or workflow_name(model_config.training_mode),
            session_uuid=new_session_uuid(),
        ),
        dataset_config=DatasetConfig.model_validate(_as_document(dataset)),
        language_config=LanguageConfig.model_validate(
            _as_document(_section(analysis, "language_config") or {})
        ),
        text_analysis=TextAnalysis.model_validate(
            _as_document(_section(analysis, "text_analysis") or {})
        ),
        training_model_config=ModelConfig.model_validate(_as_document(model_config)),
        execution_status=ExecutionStatus(),
    )


def _as_document(section: Any) -> dict[str, Any]:
    if isinstance(section, BaseModel):
        return section.model_dump(mode="json", by_alias=True)
    return dict(section)


def _field_accepts_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_field_accepts_list(arg) for arg in typing.get_args(annotation))
    return False


def _parse_override(key: str, raw: str) -> tuple[str, Any]:
    name = OVERRIDE_ALIASES.get(key.strip(), key.strip())
    fields = ModelConfig.model_fields
    if name not in fields or name in NOT_OVERRIDABLE:
        known = ", ".join(sorted(set(fields) - NOT_OVERRIDABLE))
        raise BadInputError(f"--set {key}: unknown setting; known settings: {known}")
    value = raw.strip()
    if _field_accepts_list(fields[name].annotation):
        return name, [item.strip() for item in value.split(",") if item.strip()]
    if value.lower() in ("none", "null", ""):
        return name, None
    try:
        # JSON gives numbers and booleans their type; anything else stays a string for pydantic.
        return name, json.loads(value)
    except ValueError:
        return name, value


def apply_overrides(config: ModelConfig, overrides: Mapping[str, str]) -> ModelConfig:
    """``config`` with ``--set KEY=VALUE`` changes applied and validated.

    ``model=X`` replaces the model list by X (and ``models=A,B`` sets a benchmark's models).

    Raises:
        BadInputError: an unknown key, or a value the field does not accept.
    """
    document = config.model_dump(mode="json")
    for key, raw in overrides.items():
        name, value = _parse_override(key, raw)
        if name == "selected_model" and isinstance(value, str):
            value = absolute_model_name(value)
        elif name == "selected_models" and isinstance(value, list):
            value = [absolute_model_name(model) for model in value]
        document[name] = value
        if name == "selected_model":
            document["selected_models"] = [value] if value else []
        elif name == "selected_models" and value:
            document["selected_model"] = value[0]
    try:
        updated = ModelConfig.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        given = next(
            (raw for key, raw in overrides.items() if OVERRIDE_ALIASES.get(key, key) == field), None
        )
        raise BadInputError(
            f"--set {field}={given}: {first['msg']}"
            if given is not None
            else f"invalid setting {field}: {first['msg']}"
        ) from None
    problems = validate_hyperparameters(updated)
    if problems:
        raise BadInputError(problems[0])
    return updated


SMALLEST_MAX_LENGTH = 32


def suggested_max_length(token_p95: float, max_tokens: int) -> int:
    """The smallest power of two (from 32) holding 95% of the texts whole, within the model's
    maximum: shorter sequences train much faster, and cutting one text in twenty loses little.
    """
    length = SMALLEST_MAX_LENGTH
    while length < token_p95:
        length *= 2
    return min(length, max_tokens)


def relaunch_metadata(
    source: TrainingMetadata,
    *,
    dataset: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> TrainingMetadata:
    """A new ``pending`` session with ``source``'s parameters, optionally edited.

    The new session has a new id and uuid and names ``source`` as its parent. With ``dataset``
    (or when the recorded dataset changed since) the data is analysed again with the same
    columns and split; otherwise the recorded analysis is reused.

    Raises:
        BadInputError: a bad override, a recorded dataset that is missing or not a regular file
            (a FIFO, a device...), or a dataset the analysis rejects.
    """
    model_config = source.training_model_config.model_copy(deep=True)
    if overrides:
        model_config = apply_overrides(model_config, overrides)
    sections: dict[str, Any] = {
        "dataset_config": source.dataset_config,
        "language_config": source.language_config,
        "text_analysis": source.text_analysis,
    }
    if dataset is not None:
        sections = _reanalyse(source, Path(dataset), model_config)
    else:
        recorded = _recorded_dataset(source)
        if _dataset_changed(source):
            sections = _reanalyse(source, recorded, model_config)
    created = build_session_metadata(
        sections, model_config, workflow=source.training_session.workflow, now=now
    )
    created.training_session.parent_session_id = source.session_id
    created.tags = list(source.tags)
    return created


def _recorded_dataset(source: TrainingMetadata) -> Path:
    """The recorded dataset's path, checked to be a regular file before anything reads it.

    The session file may come from another machine: its path may name a FIFO (reading would
    block), a device, a ``~user`` unknown here, or hold a NUL character.
    """
    recorded = source.dataset_config.primary_file
    if not recorded:
        raise BadInputError(
            f"cannot relaunch {source.session_id}: the session names no dataset file",
            Remedy(shell="relaunch it with --dataset PATH", app="press e to choose a dataset"),
        )
    path = expand_user(recorded)
    try:
        with open_regular(path):
            pass
    except OSError as exc:
        reason = why_unreadable(path, exc)
        # Worded as resumability's dataset_blocker words a missing file.
        problem = f"{path} not found" if reason == "does not exist" else f"{recorded} {reason}"
        raise BadInputError(
            f"cannot relaunch {source.session_id}: dataset {problem}",
            _PUT_DATASET_BACK,
        ) from None
    return path


def _dataset_changed(source: TrainingMetadata) -> bool:
    from engine.sessions.resumability import dataset_blocker

    obstacle = dataset_blocker(source)
    if obstacle is not None and obstacle.kind == "dataset-missing":
        raise BadInputError(
            f"cannot relaunch {source.session_id}: {obstacle.problem}",
            _PUT_DATASET_BACK,
        )
    return obstacle is not None


def _reanalyse(source: TrainingMetadata, path: Path, model_config: ModelConfig) -> dict[str, Any]:
    from engine.analysis import analyze_dataset
    from engine.analysis.prepare import read_options_of

    recorded = source.dataset_config
    label_columns = list(recorded.label_columns) or (
        [recorded.label_column] if recorded.label_column else None
    )
    models = model_config.models()
    analysis = analyze_dataset(
        path,
        text_column=recorded.text_column,
        label_columns=label_columns,
        language_column=recorded.language_column,
        model=models[0] if models else None,
        # Read as recorded, but the encoding detected again: the file changed or moved, and
        # UTF-8 read as Latin-1 would pass unseen.
        read=dataclasses.replace(read_options_of(recorded), encoding=None),
        label_delimiter=recorded.label_delimiter,
        multi_label=recorded.strategy == "multi-label",
        drop_rare_classes=bool(recorded.dropped_rare_classes),
        split=recorded.split.model_copy(
            update={"train_size": None, "validation_size": None, "test_size": None}
        ),
        progress=None,
    )
    return {
        "dataset_config": analysis.dataset_config,
        "language_config": analysis.language_config,
        "text_analysis": analysis.text_analysis,
    }


def _unsaved_run_dir(store: SessionStore, metadata: TrainingMetadata) -> Path:
    stamp = metadata.training_session.timestamp
    for attempt in range(1, 10_000):
        session_id = f"train_{stamp}" + ("" if attempt == 1 else f"_{attempt}")
        run_dir = store.workspace.run_dir(session_id)
        try:
            run_dir.mkdir(parents=True)
        except FileExistsError:
            continue
        metadata.training_session.session_id = session_id
        return run_dir
    raise BadInputError(f"no free session id for timestamp {stamp}")


def create_session(store: SessionStore, metadata: TrainingMetadata, save: bool = True) -> Path:
    """Write a new session's metadata; return the file the worker is given.

    ``save=True``: ``logs/training_sessions/training_metadata_<timestamp>.json`` (listed,
    resumable). ``save=False``: only ``logs/training_runs/<id>/metadata.json``.
    """
    metadata.execution_status = ExecutionStatus()
    metadata.output_paths = OutputPaths()
    metadata.environment = None
    if not save:
        run_dir = _unsaved_run_dir(store, metadata)
        _fill_output_paths(store, metadata)
        path = run_dir / UNSAVED_METADATA_NAME
        store.save(path, metadata)
        return path
    path = store.create(metadata)
    store.update(path, lambda written: _fill_output_paths(store, written))
    return path


def _fill_output_paths(store: SessionStore, metadata: TrainingMetadata) -> None:
    workspace = store.workspace
    run_dir = workspace.run_dir(metadata.session_id)
    metadata.output_paths = OutputPaths(
        models_dir=str(workspace.session_models_dir(metadata.session_id)),
        logs_dir=str(workspace.logs_dir),
        results_csv=str(run_dir / "results.csv"),
        run_dir=str(run_dir),
    )

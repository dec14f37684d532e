"""Creating sessions: new from an analysis, unsaved, and relaunched with edits."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.schema import ModelConfig, TrainingMetadata
from engine.sessions.creation import (
    apply_overrides,
    build_session_metadata,
    create_session,
    relaunch_metadata,
)
from engine.sessions.hyperparameters import validate_hyperparameters
from engine.store import SessionStore
from tests.test_training_support import dataset_config, write_tiny_dataset

NOW = datetime(2026, 3, 1, 9, 30, 5)


def _metadata(tmp_path: Path, **model: object) -> TrainingMetadata:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    config = ModelConfig(selected_model="some/model", selected_models=["some/model"], **model)
    return build_session_metadata({"dataset_config": dataset_config(dataset)}, config, now=NOW)


def test_a_new_session_is_pending_with_a_fresh_identity(tmp_path: Path) -> None:
    first, second = _metadata(tmp_path), _metadata(tmp_path)
    assert first.status == "pending" and first.environment is None
    assert first.session_id == "train_20260301_093005"
    assert first.training_session.workflow == "Training Studio - Quick"
    assert first.training_session.session_uuid != second.training_session.session_uuid


def test_a_session_needs_a_dataset_and_a_model(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="dataset_config"):
        build_session_metadata({}, ModelConfig(selected_model="m"))
    with pytest.raises(BadInputError, match="no model"):
        build_session_metadata(
            {"dataset_config": _metadata(tmp_path).dataset_config}, ModelConfig()
        )


def test_create_session_saves_it_with_its_output_paths(store: SessionStore, tmp_path: Path) -> None:
    path = create_session(store, _metadata(tmp_path))
    assert path.parent == store.directory
    written = store.load(path)
    run_dir = store.workspace.run_dir(written.session_id)
    assert written.output_paths.run_dir == str(run_dir)
    assert written.output_paths.results_csv == str(run_dir / "results.csv")
    assert written.output_paths.models_dir == str(
        store.workspace.session_models_dir(written.session_id)
    )


def test_an_unsaved_session_lives_only_in_its_run_directory(
    store: SessionStore, tmp_path: Path
) -> None:
    first = create_session(store, _metadata(tmp_path), save=False)
    second = create_session(store, _metadata(tmp_path), save=False)
    assert store.list().rows == []
    assert first.name == "metadata.json"
    assert first.parent == store.workspace.run_dir(store.load(first).session_id)
    # Same second: the second session gets its own id and run directory.
    assert store.load(first).session_id != store.load(second).session_id


def test_relaunch_copies_the_parameters_under_a_new_identity(tmp_path: Path) -> None:
    source = _metadata(tmp_path, epochs=5, torch_threads=2)
    source.execution_status.status = "completed"
    source.execution_status.best_f1 = 0.9
    source.tags = ["paper"]
    source.notes = "first try"
    relaunched = relaunch_metadata(source, now=datetime(2026, 3, 2, 10, 0, 0))
    assert relaunched.training_session.parent_session_id == source.session_id
    assert relaunched.training_session.session_uuid != source.training_session.session_uuid
    assert relaunched.session_id == "train_20260302_100000"
    assert relaunched.status == "pending" and relaunched.execution_status.best_f1 is None
    assert relaunched.training_model_config == source.training_model_config
    assert relaunched.dataset_config == source.dataset_config
    assert relaunched.tags == ["paper"] and relaunched.notes == ""


def test_overrides_are_typed_and_validated() -> None:
    config = ModelConfig(selected_model="a", selected_models=["a"])
    changed = apply_overrides(
        config, {"epochs": "7", "learning_rate": "3e-4", "early_stopping": "false", "model": "b"}
    )
    assert (changed.epochs, changed.learning_rate, changed.early_stopping) == (7, 3e-4, False)
    assert changed.models() == ["b"]
    benchmark = apply_overrides(config, {"mode": "benchmark", "models": "x, y"})
    assert benchmark.models() == ["x", "y"] and benchmark.selected_model == "x"
    with pytest.raises(BadInputError, match="--set colour: unknown setting; known settings"):
        apply_overrides(config, {"colour": "blue"})
    with pytest.raises(BadInputError, match="--set epochs=many"):
        apply_overrides(config, {"epochs": "many"})
    with pytest.raises(BadInputError, match="learning_rate must be a number > 0"):
        apply_overrides(config, {"learning_rate": "-1"})
    with pytest.raises(BadInputError, match="benchmark mode needs two or more models"):
        apply_overrides(config, {"mode": "benchmark"})


def test_validation_names_each_bad_value() -> None:
    problems = validate_hyperparameters(
        ModelConfig(selected_model="a", epochs=0, batch_size=0, warmup_ratio=1.5)
    )
    assert any("epochs" in p for p in problems) and any("batch_size" in p for p in problems)
    assert any("warmup_ratio" in p for p in problems)


def test_relaunch_on_another_dataset_analyses_it_again(tmp_path: Path) -> None:
    source = _metadata(tmp_path)
    other = write_tiny_dataset(tmp_path / "other.csv", rows=200, seed=3)
    relaunched = relaunch_metadata(source, dataset=other)
    config = relaunched.dataset_config
    assert config.primary_file == str(other.resolve())
    assert config.total_samples == 200
    assert config.fingerprint is not None and config.fingerprint.rows == 200
    assert config.text_column == "text" and config.label_column == "label"


def test_relaunch_refuses_a_missing_dataset(tmp_path: Path) -> None:
    source = _metadata(tmp_path)
    Path(source.dataset_config.primary_file or "").unlink()
    with pytest.raises(BadInputError, match="not found"):
        relaunch_metadata(source)

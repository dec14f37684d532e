"""Only complete checkpoints are resumed from: marker, sizes, trainer state and weights header."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.sessions.checkpoints import (
    MARKER_NAME,
    REQUIRED_FILES,
    TRAINER_STATE_FILE,
    WEIGHT_FILE,
    discard_incomplete,
    newest_complete,
    prune,
    read_unit_result,
    validate_checkpoint,
    write_marker,
    write_unit_result,
)
from tests.test_training_support import fake_checkpoint


def test_a_marked_checkpoint_is_complete(tmp_path: Path) -> None:
    path = fake_checkpoint(tmp_path, 8, final=True)
    info = validate_checkpoint(path)
    assert info is not None
    assert (info.step, info.final, info.torch_threads) == (8, True, 2)
    assert set(info.marker["files"]) >= set(REQUIRED_FILES)


def test_a_checkpoint_without_marker_is_incomplete(tmp_path: Path) -> None:
    # What a kill in the middle of Trainer's save leaves: the files are there, the marker is not.
    assert validate_checkpoint(fake_checkpoint(tmp_path, 8, marker=False)) is None


def test_a_truncated_file_makes_a_checkpoint_incomplete(tmp_path: Path) -> None:
    path = fake_checkpoint(tmp_path, 8)
    optimizer = path / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[:-1])
    assert validate_checkpoint(path) is None


def test_unreadable_weights_or_state_make_a_checkpoint_incomplete(tmp_path: Path) -> None:
    weights = fake_checkpoint(tmp_path / "a", 8)
    size = (weights / WEIGHT_FILE).stat().st_size
    (weights / WEIGHT_FILE).write_bytes(b"\xff" * size)  # same size, not safetensors
    assert validate_checkpoint(weights) is None
    state = fake_checkpoint(tmp_path / "b", 8)
    size = (state / TRAINER_STATE_FILE).stat().st_size
    (state / TRAINER_STATE_FILE).write_text("{" * size)
    assert validate_checkpoint(state) is None


def test_a_missing_required_file_is_refused_when_marking(tmp_path: Path) -> None:
    path = fake_checkpoint(tmp_path, 8, marker=False)
    (path / "rng_state.pth").unlink()
    with pytest.raises(RuntimeError, match=r"rng_state\.pth"):
        write_marker(path, step=8, final=False, torch_threads=1, unit="m")
    assert not (path / MARKER_NAME).exists()


def test_newest_complete_skips_a_partial_newerfake_checkpoint(tmp_path: Path) -> None:
    fake_checkpoint(tmp_path, 8)
    fake_checkpoint(tmp_path, 16)
    fake_checkpoint(tmp_path, 24, marker=False)
    newest = newest_complete(tmp_path)
    assert newest is not None and newest.step == 16
    assert discard_incomplete(tmp_path) == [tmp_path / "checkpoint-24"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-16", "checkpoint-8"]
    assert newest_complete(tmp_path / "nothing-here") is None


def test_prune_keeps_the_newest_and_the_best(tmp_path: Path) -> None:
    for step in (8, 16, 24, 32):
        fake_checkpoint(tmp_path, step)
    prune(tmp_path, keep={tmp_path / "checkpoint-16"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-16", "checkpoint-32"]


def test_a_unit_result_needs_its_model_directory(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_unit_result(tmp_path / "unit", {"best_f1": 0.5, "model_path": str(model_dir)})
    assert read_unit_result(tmp_path / "unit") is None
    model_dir.mkdir()
    assert read_unit_result(tmp_path / "unit") == {"best_f1": 0.5, "model_path": str(model_dir)}

"""The worker's recorder: results rows once each, progress without duplicates, the heartbeat."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.schema import ModelConfig, TrainingMetadata
from engine.sessions.creation import build_session_metadata, create_session
from engine.store import SessionStore
from engine.training import recorder as recorder_module
from engine.training.recorder import EvaluationRecord, ResultsTable, RunRecorder
from tests.test_training_support import dataset_config, write_tiny_dataset

LABELS = ["a", "b"]


def _record(step: int, f1: float = 0.5) -> EvaluationRecord:
    return EvaluationRecord(
        unit="m",
        model="m",
        label=None,
        split="validation",
        step=step,
        epoch=step / 4,
        eval_loss=0.7,
        accuracy=0.6,
        macro_f1=f1,
        per_class_f1={"a": f1, "b": 0.25},
    )


def test_results_rows_are_added_once_and_replaced_when_different(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    table = ResultsTable(path, LABELS)
    assert table.add(_record(4)) == "added"
    assert table.add(_record(8)) == "added"
    assert table.add(_record(4)) == "same"
    lines = path.read_text().splitlines()
    assert lines[0] == ("unit,model,label,split,step,epoch,eval_loss,accuracy,macro_f1,f1:a,f1:b")
    assert lines[1] == "m,m,,validation,4,1.0,0.7,0.6,0.5,0.5,0.25"
    assert len(lines) == 3
    reopened = ResultsTable(path, LABELS)  # a resumed run reads what the killed one wrote
    assert reopened.add(_record(8)) == "same"
    assert reopened.add(_record(8, f1=0.75)) == "replaced"
    assert path.read_text().splitlines()[2].endswith(",0.75,0.75,0.25")
    assert len(path.read_text().splitlines()) == 3


def test_a_torn_last_row_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    ResultsTable(path, LABELS).add(_record(4))
    with path.open("a") as handle:
        handle.write("m,m,,validation,8,2.0,0.")  # killed in the middle of a write
    table = ResultsTable(path, LABELS)
    assert len(path.read_text().splitlines()) == 2
    assert table.add(_record(8)) == "added"


@pytest.fixture
def session(store: SessionStore, tmp_path: Path) -> Path:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    metadata = build_session_metadata(
        {"dataset_config": dataset_config(dataset)}, ModelConfig(selected_model="m")
    )
    return create_session(store, metadata)


def _running(recorder: RunRecorder, pid: int) -> None:
    def mutate(metadata: TrainingMetadata) -> None:
        metadata.execution_status.status = "running"
        metadata.execution_status.pid = pid

    recorder.update(mutate)


def test_the_heartbeat_writes_progress_only_for_its_own_running_worker(
    store: SessionStore, session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "HEARTBEAT_S", 0.05)
    run_dir = store.workspace.run_dir(store.load(session).session_id)
    recorder = RunRecorder(store, session, run_dir)
    _running(recorder, recorder.pid)
    recorder.start_heartbeat()
    recorder.step("m", 3, 24, 0.375, 1.2, 1e-3, 100.0)
    deadline = time.monotonic() + 10
    while store.load(session).execution_status.step != 3:
        assert time.monotonic() < deadline, "no heartbeat written"
        time.sleep(0.02)
    status = store.load(session).execution_status
    assert (status.max_steps, status.epoch) == (24, 0.375)
    assert status.last_heartbeat_at is not None
    recorder.stop_heartbeat()
    _running(recorder, recorder.pid + 1)  # another worker took the session over
    recorder.step("m", 4, 24, 0.5, 1.1, 1e-3, 100.0)
    recorder.beat()
    assert store.load(session).execution_status.step == 3
    recorder.close()


def test_a_resumed_run_does_not_repeat_recorded_events(store: SessionStore, session: Path) -> None:
    run_dir = store.workspace.run_dir(store.load(session).session_id)
    first = RunRecorder(store, session, run_dir)
    first.open_results(LABELS)
    first.step("m", 1, 24, 0.1, 1.3, 1e-3, 90.0)
    first.evaluation(_record(4))
    first.close()
    # Killed in the middle of writing an event: the resumed run must start on a new line.
    with (run_dir / "progress.jsonl").open("ab") as handle:
        handle.write(b'{"time": "2026-01-01T00:00:00Z", "event": "st')
    second = RunRecorder(store, session, run_dir)
    second.open_results(LABELS)
    second.step("m", 1, 24, 0.1, 1.3, 1e-3, 90.0)  # redone after the resume: not repeated
    second.step("m", 2, 24, 0.2, 1.2, 1e-3, 90.0)
    second.evaluation(_record(4))
    second.close()
    lines = (run_dir / "progress.jsonl").read_text().splitlines()
    kinds = [line for line in lines if '"event":"step"' in line]
    assert len(kinds) == 2
    assert sum('"event":"evaluation"' in line for line in lines) == 1
    assert lines[-1].startswith('{"time"') and lines[-2].endswith('"st')

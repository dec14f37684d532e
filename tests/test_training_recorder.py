"""The worker's recorder: results rows once each, progress without duplicates, the heartbeat."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from engine.evaluations import read_evaluations
from engine.progress import ModelStarted, TrainingStopped, parse_event
from engine.schema import ModelConfig, TrainingMetadata
from engine.sessions.creation import build_session_metadata, create_session
from engine.store import SessionStore
from engine.training import recorder as recorder_module
from engine.training.metrics import score, scores_from_metrics
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


def test_an_evaluation_counts_the_predictions_of_each_class_through_trainer_metrics() -> None:
    logits = np.array([[2.0, 0.1, 0.0], [1.5, 0.2, 0.1], [0.0, 3.0, 0.1], [0.9, 0.1, 0.3]])
    scores = score(logits, np.array([0, 1, 1, 2]), ["pos", "neg", "neu"], multi_label=False)
    assert scores.predicted_counts == {"pos": 3, "neg": 1, "neu": 0}
    # As Trainer hands them back to the callbacks: floats, prefixed.
    metrics = {f"eval_{key}": value for key, value in scores.as_metrics().items()}
    assert scores_from_metrics(metrics) == scores
    multi = score(np.array([[1.0, -1.0], [2.0, -0.5]]), np.array([[1, 0], [1, 1]]), LABELS, True)
    assert multi.predicted_counts == {"a": 2, "b": 0}


def test_the_predicted_counts_reach_the_progress_event(store: SessionStore, session: Path) -> None:
    recorder = RunRecorder(store, session, session.parent.parent / "training_runs" / "r")
    try:
        recorder.open_results(LABELS)
        record = _record(4)
        record.predicted_counts = {"a": 0, "b": 32}
        recorder.evaluation(record)
    finally:
        recorder.close()
    (evaluation,) = read_evaluations(recorder.progress_path)
    assert evaluation.predicted_counts == {"a": 0, "b": 32}


def test_a_resumed_model_starts_from_its_checkpoints_step(
    store: SessionStore, session: Path
) -> None:
    run_dir = store.workspace.run_dir(store.load(session).session_id)
    recorder = RunRecorder(store, session, run_dir)
    recorder.model_started("m", 1, 1, None)
    recorder.model_started("m", 1, 1, "checkpoint-120")
    recorder.close()
    lines = (run_dir / "progress.jsonl").read_text().splitlines()
    started = [event for event in map(parse_event, lines) if isinstance(event, ModelStarted)]
    assert [(event.resumed_from, event.from_step) for event in started] == [
        (None, 0),
        ("checkpoint-120", 120),
    ]


def test_how_a_unit_stopped_is_recorded_with_its_best_evaluation_even_after_a_resume(
    store: SessionStore, session: Path
) -> None:
    run_dir = store.workspace.run_dir(store.load(session).session_id)
    first = RunRecorder(store, session, run_dir)
    first.open_results(LABELS)
    first.model_started("m", 1, 1, None)
    first.evaluation(_record(4, f1=0.5))
    first.evaluation(_record(8, f1=0.75))
    first.evaluation(_record(12, f1=0.75))  # equal: the first one stays the best
    first.step("m", 14, 40, 3.5, 0.9, 1e-3, 10.0)
    first.training_stopped("stopped", "stopped by the user")
    first.close()
    (ending,) = store.load(session).execution_status.endings
    assert (ending.reason, ending.step, ending.max_steps, ending.epoch) == ("stopped", 14, 40, 3.5)
    assert (ending.best_step, ending.best_epoch, ending.best_f1) == (8, 2.0, 0.75)
    # The resumed run knows the best evaluation from the log, and its ending replaces the first.
    second = RunRecorder(store, session, run_dir)
    second.open_results(LABELS)
    second.model_started("m", 1, 1, None)
    second.evaluation(_record(16, f1=0.5))
    second.step("m", 20, 40, 5.0, 0.8, 1e-3, 10.0)
    second.training_stopped(
        "early_stopping", "early stopping: no better macro F1 for 2 evaluations"
    )
    second.close()
    (ending,) = store.load(session).execution_status.endings
    assert (ending.reason, ending.step, ending.best_step) == ("early_stopping", 20, 8)
    events = [parse_event(line) for line in (run_dir / "progress.jsonl").read_bytes().splitlines()]
    stops = [event for event in events if isinstance(event, TrainingStopped)]
    assert [(event.reason, event.step, event.best_step) for event in stops] == [
        ("stopped", 14, 8),
        ("early_stopping", 20, 8),
    ]

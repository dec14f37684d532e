"""The worker end to end in quick mode, and the fast subset of its fault handling.

One module-scoped set of runs (two at a time): an uninterrupted reference; a run that receives
SIGTERM mid-epoch, is resumed, SIGKILLed right after its next end-of-epoch checkpoint and resumed
again; a run that crashes after its first checkpoint. The resumed run must end with the
reference's model, bit for bit, and its results, each evaluation recorded once. (The longer
fault matrix is in test_worker_faults.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.progress import parse_event
from engine.rows import model_label
from engine.sessions.resumability import assess_resume
from engine.workspace import Workspace
from tests.test_training_support import (
    KILLED,
    Scenario,
    Step,
    build_tiny_model,
    dataset_config,
    evaluation_keys,
    load,
    make_session,
    model_files,
    new_workspace,
    progress_events,
    results_text,
    run_dir,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    root = tmp_path_factory.mktemp("quick")
    model = build_tiny_model(root / "tiny-model")
    dataset = write_tiny_dataset(root / "data.csv")
    workspace = new_workspace(root / "ws")
    config = dataset_config(dataset)

    def session() -> Path:
        return make_session(workspace, config, tiny_model_config([model]))

    scenarios = {
        "reference": Scenario(session(), [Step()]),
        # SIGTERM is sent by the worker to itself at a fixed step, so that it always lands
        # mid-epoch; the handler that runs is the one a `kill -TERM` reaches.
        "interrupted": Scenario(
            session(),
            [
                Step(kill_at="mid_step:11:SIGTERM"),
                Step(resume=True, kill_at="after_checkpoint:1"),
                Step(resume=True),
            ],
        ),
        "crashed": Scenario(session(), [Step(kill_at="after_checkpoint:1:RAISE")]),
    }
    run_scenarios(list(scenarios.values()))
    return scenarios


def _workspace(path: Path) -> Workspace:
    return Workspace(path.parents[2])


def test_quick_training_completes_with_everything_recorded(runs: dict[str, Scenario]) -> None:
    path = runs["reference"].metadata_path
    assert runs["reference"].returncodes == [0], runs["reference"].outputs
    metadata = load(path)
    status = metadata.execution_status
    assert status.status == "completed"
    assert status.completed_at is not None and status.started_at is not None
    assert status.pid is not None and status.host and status.process_started_at
    assert status.best_f1 is not None and 0 <= status.best_f1 <= 1
    assert status.models_trained == [metadata.training_model_config.selected_model]
    assert status.best_model == metadata.training_model_config.selected_model
    assert status.step == status.max_steps == 24
    assert metadata.training_model_config.torch_threads == 1
    assert metadata.environment is not None
    assert metadata.environment.torch and metadata.environment.transformers
    assert metadata.environment.device == "cpu" and metadata.environment.torch_threads == 1
    split = metadata.dataset_config.split
    assert (split.train_size, split.validation_size) == (128, 32)

    model_dir = Path(status.best_model_path or "")
    assert model_dir.parent == _workspace(path).session_models_dir(metadata.session_id)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "label_map.json"):
        assert (model_dir / name).is_file(), name
    label_map = json.loads((model_dir / "label_map.json").read_text())
    assert label_map["labels"] == metadata.dataset_config.labels

    results = results_text(path).splitlines()
    assert results[0].startswith("unit,model,label,split,step,epoch,eval_loss,accuracy,macro_f1")
    assert len(results) == 1 + 3  # one row per evaluation, one per epoch
    assert metadata.output_paths.results_csv == str(run_dir(path) / "results.csv")
    assert (run_dir(path) / "train.log").read_text().count("evaluation at step") == 3


def test_progress_events_are_typed_and_complete(runs: dict[str, Scenario]) -> None:
    path = runs["reference"].metadata_path
    raw = (run_dir(path) / "progress.jsonl").read_text().splitlines()
    assert all(parse_event(line) is not None for line in raw)
    events = progress_events(path)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "status" and events[0]["status"] == "running"
    assert events[-1] == {**events[-1], "event": "status", "status": "completed"}
    steps = [event for event in events if event["event"] == "step"]
    assert [event["step"] for event in steps] == list(range(1, 25))
    assert all(event["max_steps"] == 24 and event["loss"] is not None for event in steps)
    assert all(
        event["samples_per_second"] and event["learning_rate"] is not None for event in steps
    )
    evaluations = [event for event in events if event["event"] == "evaluation"]
    assert [event["step"] for event in evaluations] == [8, 16, 24]
    assert set(evaluations[0]["per_class_f1"]) == set(load(path).dataset_config.labels)
    assert kinds.count("checkpoint_saved") == 3
    assert kinds.count("model_started") == kinds.count("model_finished") == 1


def test_sigterm_then_sigkill_then_resume_ends_exactly_like_the_reference(
    runs: dict[str, Scenario],
) -> None:
    reference, path = runs["reference"].metadata_path, runs["interrupted"].metadata_path
    assert runs["interrupted"].returncodes == [3, KILLED, 0], runs["interrupted"].outputs
    events = progress_events(path)
    interrupted = [e for e in events if e["event"] == "status" and e["status"] == "interrupted"]
    assert len(interrupted) == 1
    assert "SIGTERM" in interrupted[0]["message"] and "checkpoint-11" in interrupted[0]["message"]
    saved = [e["step"] for e in events if e["event"] == "checkpoint_saved"]
    # The epoch-1 checkpoint, the one the stop wrote, and the last one: the SIGKILL came right
    # after checkpoint-16 was complete, before it was reported, and the last run resumed from it.
    assert saved == [8, 11, 24]
    starts = [e["resumed_from"] for e in events if e["event"] == "model_started"]
    assert starts == [None, "checkpoint-11", "checkpoint-16"]
    metadata = load(path)
    assert metadata.execution_status.status == "completed"
    assert metadata.execution_status.resume_count == 2
    assert model_files(path) == model_files(reference)
    assert results_text(path) == results_text(reference)
    # Every evaluation once, in order: the cut epoch was not evaluated, and the one redone after
    # the SIGKILL was not recorded twice.
    assert evaluation_keys(path) == evaluation_keys(reference)


def test_a_crash_is_recorded_as_failed_with_its_error(runs: dict[str, Scenario]) -> None:
    scenario = runs["crashed"]
    assert scenario.returncodes == [1], scenario.outputs
    status = load(scenario.metadata_path).execution_status
    assert status.status == "failed"
    assert status.error_type == "InjectedFault"
    assert "fault injected at after_checkpoint" in (status.error_message or "")
    assert "InjectedFault" in Path(status.traceback_path or "").read_text()
    assert status.completed_at is None and status.ended_at is not None
    events = progress_events(scenario.metadata_path)
    assert [e["status"] for e in events if e["event"] == "status"] == ["running", "failed"]
    # Failed after a complete checkpoint: resumable from it.
    assessment = assess_resume(_workspace(scenario.metadata_path), load(scenario.metadata_path))
    assert assessment.resumable and assessment.checkpoint is not None
    assert assessment.checkpoint.name == "checkpoint-8"


def test_a_completed_session_cannot_be_resumed(runs: dict[str, Scenario]) -> None:
    path = runs["reference"].metadata_path
    assessment = assess_resume(_workspace(path), load(path))
    assert not assessment.resumable
    assert "relaunch" in (assessment.blocker or "")
    config = load(path).training_model_config
    assert model_label(config.training_mode, config.models()) == config.selected_model

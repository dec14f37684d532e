"""How training ended, recorded by a real run: early stopping per label in distributed mode.

A tiny model whose learning rate is too small to move its weights never betters its first
macro F1, so early stopping (patience 1) ends each label's training at its second evaluation,
epoch 2 of 4. The worker must say so, with the step it stopped at and the step of the best
model, in the metadata and the progress events, and name each label in its progress lines.
"""

from __future__ import annotations

import json

import pytest

from engine.facade import Engine
from engine.progress import ModelStarted, TrainingStopped, parse_event, summary_path
from engine.workspace import Workspace
from llmtool_tui.cli import main
from tests.test_training_support import (
    Scenario,
    Step,
    build_tiny_model,
    dataset_config,
    load,
    make_session,
    new_workspace,
    run_dir,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)


@pytest.fixture(scope="module")
def stopped_early(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("endings")
    model = build_tiny_model(root / "tiny-model")
    dataset = write_tiny_dataset(root / "data.csv")
    config = dataset_config(dataset)
    labels = sorted(config.labels)[:2]
    session = make_session(
        new_workspace(root / "ws"),
        config,
        tiny_model_config(
            [model],
            training_mode="distributed",
            labels_to_train=labels,
            epochs=4,
            learning_rate=1e-12,
            early_stopping_patience=1,
        ),
    )
    scenario = Scenario(session, [Step()])
    run_scenarios([scenario])
    return scenario


def test_early_stopping_is_recorded_with_where_it_stopped_and_the_best_model(
    stopped_early: Scenario,
) -> None:
    assert stopped_early.returncodes == [0], stopped_early.outputs
    status = load(stopped_early.metadata_path).execution_status
    assert len(status.endings) == 2
    assert len({ending.label for ending in status.endings}) == 2
    for ending in status.endings:
        assert ending.reason == "early_stopping"
        assert ending.message == "early stopping: no better macro F1 for 1 evaluation"
        assert ending.max_steps is not None and ending.step is not None
        # Stopped at the end of epoch 2 of 4: half the planned steps.
        assert ending.step * 2 == ending.max_steps
        assert ending.epoch == pytest.approx(2.0)
        # The first evaluation stayed the best: the model saved is the one of epoch 1.
        assert ending.best_step is not None and ending.best_step * 2 == ending.step
        assert ending.best_epoch == pytest.approx(1.0)
        assert ending.label is not None and ending.model.endswith(f"[{ending.label}]")


def test_progress_events_name_the_label_and_say_how_it_ended(stopped_early: Scenario) -> None:
    progress = run_dir(stopped_early.metadata_path) / "progress.jsonl"
    events = [parse_event(line) for line in progress.read_bytes().splitlines()]
    started = [event for event in events if isinstance(event, ModelStarted)]
    assert [event.position() for event in started] == [
        f"{event.label}: {index}/2" for index, event in enumerate(started, start=1)
    ]
    assert all(event.label for event in started)
    stopped = [event for event in events if isinstance(event, TrainingStopped)]
    assert [(event.label, event.reason) for event in stopped] == [
        (event.label, "early_stopping") for event in started
    ]
    # The summary holds every event that is not a step: the view reads it, not the log.
    summary = [parse_event(line) for line in summary_path(progress).read_bytes().splitlines()]
    assert [event for event in summary if isinstance(event, TrainingStopped)] == stopped


def test_the_detail_and_show_json_say_how_each_label_s_training_ended(
    stopped_early: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    path = stopped_early.metadata_path
    workspace = path.parents[2]
    assert main(["show", str(path), "--json", "-w", str(workspace)]) == 0
    document = json.loads(capsys.readouterr().out)
    endings = document["metadata"]["execution_status"]["endings"]
    assert [ending["reason"] for ending in endings] == ["early_stopping", "early_stopping"]
    for ending, told in zip(endings, document["how_it_ended"], strict=True):
        assert told["label"] == ending["label"]
        assert told["text"] == (
            f"early stopping: no better macro F1 for 1 evaluation at step {ending['step']}"
            f"/{ending['max_steps']} (epoch 2); best model at step {ending['best_step']}"
            f" (epoch 1), macro F1 {ending['best_f1']:.4g}"
        )
    rows = dict(Engine(Workspace(workspace)).inspect(path).detail_rows())
    for ending in endings:
        assert rows[f"How It Ended ({ending['label']})"].startswith(
            "early stopping: no better macro F1 for 1 evaluation at step"
        )

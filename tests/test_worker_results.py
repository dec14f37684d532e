"""What the worker records for the details: a resume's time beside the first start, the
benchmark's choice of its best model (ties included), and the classes each evaluation predicted.

One run: a benchmark of two tiny models, stopped between them and resumed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine.facade import Engine
from engine.progress import EvaluationDone
from engine.training.runner import UnitResult
from engine.training.worker import choose_best
from tests.test_training_support import (
    Scenario,
    Step,
    build_tiny_model,
    dataset_config,
    load,
    make_session,
    new_workspace,
    progress_events,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("benchmark")
    models = [build_tiny_model(root / "tiny-a"), build_tiny_model(root / "tiny-b")]
    dataset = write_tiny_dataset(root / "data.csv")
    workspace = new_workspace(root / "ws")
    config = tiny_model_config(models, epochs=1)
    path = make_session(workspace, dataset_config(dataset), config)
    scenario = Scenario(path, [Step(kill_at="between_units:1:SIGTERM"), Step(resume=True)])
    run_scenarios([scenario])
    return scenario


def test_a_resume_keeps_the_first_start_and_records_when_it_resumed(
    benchmark: Scenario,
) -> None:
    assert benchmark.returncodes == [3, 0], benchmark.outputs
    status = load(benchmark.metadata_path).execution_status
    runs = [
        datetime.fromisoformat(e["time"])
        for e in progress_events(benchmark.metadata_path)
        if e["event"] == "status" and e["status"] == "running"
    ]
    assert len(runs) == 2
    assert status.started_at is not None and status.started_at <= runs[0]
    assert len(status.resumed_at) == 1
    assert runs[0] < status.resumed_at[0] <= runs[1]


def test_the_choice_of_the_best_model_is_recorded_and_the_detail_shows_each_model(
    benchmark: Scenario,
) -> None:
    path = benchmark.metadata_path
    metadata = load(path)
    models = metadata.training_model_config.models()
    status = metadata.execution_status
    view = Engine(new_workspace(path.parents[2])).inspect(path)
    results = view.model_results()
    assert [(r.name, r.status, r.best_at) for r in results] == [
        ("tiny-a", "completed", "epoch 1 · step 8"),
        ("tiny-b", "completed", "epoch 1 · step 8"),
    ]
    assert [r.model for r in results] == models
    scores = [r.best_f1 or 0.0 for r in results]
    assert status.best_f1 == pytest.approx(max(scores))

    # The worker's rule: the highest macro F1; a tie goes to the lower validation loss at the
    # model's best evaluation (the first that reached it), then to the first listed.
    def rank(index: int) -> tuple[float, float, int]:
        mine = [e for e in view.evaluations if e.model == models[index] and e.split == "validation"]
        best = max(mine, key=lambda e: e.macro_f1 or 0.0)
        return (best.macro_f1 or 0.0, -(best.eval_loss or 0.0), -index)

    assert status.best_model == models[max(range(len(models)), key=rank)]
    # Which of the two it is depends on the numbers of this machine's run; either way the
    # reason is recorded (ties themselves: the test below).
    expected = "highest macro F1" if scores[0] != scores[1] else "tie on macro F1"
    assert status.best_model_choice is not None
    assert status.best_model_choice.startswith(expected)
    rows = dict(view.detail_rows())
    assert rows["Best Model Choice"] == status.best_model_choice
    assert rows["Resumed At"] != "-"
    assert view.to_json()["models"][1]["model"] == models[1]


def test_each_evaluation_records_the_classes_it_predicted(benchmark: Scenario) -> None:
    path = benchmark.metadata_path
    labels = set(load(path).dataset_config.labels)
    evaluations = [e for e in progress_events(path) if e["event"] == "evaluation"]
    assert len(evaluations) == 2
    for evaluation in evaluations:
        counts = evaluation["predicted_counts"]
        assert set(counts) == labels
        # Every text of the validation part predicted as exactly one class.
        assert sum(counts.values()) == load(path).dataset_config.split.validation_size


def _result(name: str, f1: float) -> UnitResult:
    return UnitResult(name, name, None, f1, Path(name))


def _evaluation(model: str, step: int, f1: float, loss: float | None) -> EvaluationDone:
    return EvaluationDone(model=model, step=step, macro_f1=f1, eval_loss=loss)


def test_the_best_model_is_the_highest_f1_then_the_lowest_loss_then_the_first_listed() -> None:
    a, b, c = _result("a", 0.8), _result("b", 0.8), _result("c", 0.7)
    evaluations = [
        _evaluation("a", 10, 0.8, 0.50),
        _evaluation("a", 20, 0.7, 0.10),  # a lower loss, but not at the best evaluation
        _evaluation("b", 10, 0.8, 0.40),
        _evaluation("c", 10, 0.7, 0.05),
    ]
    assert choose_best([a], evaluations) == (a, None)
    winner, choice = choose_best([c, _result("d", 0.9)], evaluations)
    assert (winner.name, choice) == ("d", "highest macro F1 (0.9000, next 0.7000)")
    winner, choice = choose_best([a, b, c], evaluations)
    assert winner is b
    assert choice == (
        "tie on macro F1 0.8000 between a, b: the lower validation loss at the best evaluation"
        " won (a 0.5000, b 0.4000)"
    )
    same_loss = [_evaluation("a", 10, 0.8, 0.4), _evaluation("b", 10, 0.8, 0.4)]
    winner, choice = choose_best([a, b], same_loss)
    assert winner is a
    assert choice is not None and choice.endswith("the first model listed won")

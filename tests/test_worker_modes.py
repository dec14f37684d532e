"""Benchmark, custom, distributed and multi-label training end to end.

Quick mode is covered by test_worker_quick.py, with the fast subset of the fault handling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.rows import model_label
from engine.schema import SplitConfig
from engine.store import SessionStore
from tests.test_training_support import (
    Scenario,
    Step,
    build_tiny_model,
    dataset_config,
    load,
    make_session,
    new_workspace,
    progress_events,
    results_text,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    root = tmp_path_factory.mktemp("modes")
    first = build_tiny_model(root / "tiny-a")
    second = build_tiny_model(root / "tiny-b", seed=1, layers=1)
    dataset = write_tiny_dataset(root / "data.csv")
    workspace = new_workspace(root / "ws")
    with_test = SplitConfig(validation_ratio=0.2, test_ratio=0.2)
    paths = {
        "benchmark": make_session(
            workspace, dataset_config(dataset), tiny_model_config([first, second])
        ),
        "custom": make_session(
            workspace,
            dataset_config(dataset, split=with_test),
            tiny_model_config(
                [first],
                training_mode="custom",
                epochs=2,
                batch_size=8,
                learning_rate=2e-3,
                max_length=24,
                warmup_ratio=0.25,
                weight_decay=0.01,
                early_stopping_patience=1,
                seed=7,
                eval_steps=6,
            ),
        ),
        "distributed": make_session(
            workspace,
            dataset_config(dataset, multi_label=True),
            tiny_model_config([first], training_mode="distributed", epochs=2),
        ),
        "multi-label": make_session(
            workspace,
            dataset_config(dataset, multi_label=True),
            tiny_model_config([first], epochs=2),
        ),
    }
    scenarios = {name: Scenario(path, [Step()]) for name, path in paths.items()}
    run_scenarios(list(scenarios.values()))
    for name, scenario in scenarios.items():
        assert scenario.returncodes == [0], (name, scenario.outputs)
    return scenarios


def _results(path: Path) -> list[dict[str, str]]:
    lines = results_text(path).splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


def test_benchmark_trains_every_model_and_names_the_best(sessions: dict[str, Scenario]) -> None:
    path = sessions["benchmark"].metadata_path
    metadata = load(path)
    status = metadata.execution_status
    models = metadata.training_model_config.selected_models
    assert status.models_trained == models
    rows = [r for r in _results(path) if r["split"] == "validation"]

    def best_row(model: str) -> dict[str, str]:
        # The first evaluation that reached the model's best macro F1 (as Trainer keeps it).
        mine = [r for r in rows if r["unit"] == model]
        return max(mine, key=lambda r: float(r["macro_f1"]))

    # The highest macro F1; a tie goes to the lower validation loss there, then to the first.
    def rank(model: str) -> tuple[float, float, int]:
        row = best_row(model)
        return (float(row["macro_f1"]), -float(row["eval_loss"]), -models.index(model))

    assert status.best_model == max(models, key=rank)
    assert status.best_f1 == pytest.approx(float(best_row(status.best_model)["macro_f1"]))
    assert status.best_model_choice
    assert Path(status.best_model_path or "").name == Path(status.best_model or "").name
    config = metadata.training_model_config
    assert model_label(config.training_mode, config.models()) == "(multiple)"
    started = [e for e in progress_events(path) if e["event"] == "model_started"]
    assert [(e["index"], e["total"]) for e in started] == [(1, 2), (2, 2)]


def test_custom_hyperparameters_reach_the_trainer(sessions: dict[str, Scenario]) -> None:
    path = sessions["custom"].metadata_path
    metadata = load(path)
    split = metadata.dataset_config.split
    assert (split.train_size, split.validation_size, split.test_size) == (96, 32, 32)
    rows = _results(path)
    validation = [r for r in rows if r["split"] == "validation"]
    # batch 8 -> 12 steps per epoch, evaluated every 6 steps (patience 1 may stop it early).
    steps = [int(r["step"]) for r in validation]
    assert steps[:2] == [6, 12] and all(step % 6 == 0 for step in steps)
    assert [r["split"] for r in rows].count("test") == 1
    step_events = [e for e in progress_events(path) if e["event"] == "step"]
    assert step_events[0]["max_steps"] == 24
    # Linear warm-up over a quarter of the steps: the rate climbs, peaks at 2e-3, then decays.
    rates = [e["learning_rate"] for e in step_events]
    assert rates[0] < rates[5] and max(rates) == pytest.approx(2e-3, rel=0.2)
    config = json.loads(
        (Path(metadata.execution_status.best_model_path or "") / "config.json").read_text()
    )
    assert config["problem_type"] == "single_label_classification"


def test_distributed_trains_one_binary_model_per_label(sessions: dict[str, Scenario]) -> None:
    path = sessions["distributed"].metadata_path
    metadata = load(path)
    status = metadata.execution_status
    labels = metadata.dataset_config.labels
    assert status.models_trained == [f"{status.best_model} [{label}]" for label in labels]
    base = Path(status.best_model_path or "")
    mapping = json.loads((base / "label_map.json").read_text())
    assert mapping["strategy"] == "one-vs-all" and set(mapping["labels"]) == set(labels)
    for label in labels:
        label_map = json.loads((base / mapping["labels"][label] / "label_map.json").read_text())
        assert label_map["labels"] == [f"not {label}", label]
    rows = _results(path)
    assert {r["label"] for r in rows} == set(labels)
    per_unit_best = [
        max(float(r["macro_f1"]) for r in rows if r["label"] == label) for label in labels
    ]
    assert status.best_f1 == pytest.approx(sum(per_unit_best) / len(labels))
    listing = SessionStore(new_workspace(path.parents[2])).list()
    row = next(r for r in listing.rows if r.session_id == metadata.session_id)
    assert row.model == "(multiple)"


def test_multi_label_data_trains_one_model_with_a_multi_label_head(
    sessions: dict[str, Scenario],
) -> None:
    path = sessions["multi-label"].metadata_path
    status = load(path).execution_status
    config = json.loads((Path(status.best_model_path or "") / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert len(config["id2label"]) == len(load(path).dataset_config.labels)
    assert (
        json.loads((Path(status.best_model_path or "") / "label_map.json").read_text())[
            "multi_label"
        ]
        is True
    )
    assert len(_results(path)) == 2

"""The fault matrix: SIGKILL at every kind of point, then resume, compared bit for bit.

Each scenario kills a worker at a named point (engine.training.faults, the LLMTOOL_TEST_KILL_AT
test hook), resumes it, and must end exactly like the uninterrupted reference of its mode: the
same final model bytes, the same results.csv, every evaluation in progress.jsonl once and in
order. All runs of the module go two at a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
    results_text,
    run_dir,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)

# The module fixture runs ~30 worker processes, two at a time: more than the default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

#: name -> (mode, kill points in order, one per run before the final resume).
SCENARIOS: dict[str, tuple[str, list[str]]] = {
    "mid-step": ("quick", ["mid_step:5"]),
    "mid-save": ("quick", ["mid_save:2"]),
    "after-end-of-epoch-checkpoint": ("quick", ["after_checkpoint:1"]),
    "during-evaluation": ("quick", ["eval_step:2"]),
    "after-evaluation-before-checkpoint": ("quick", ["after_eval:2"]),
    "final-model-saved-not-recorded": ("quick", ["before_unit_result:1"]),
    "killed-three-times": ("quick", ["mid_step:13", "eval_step:1", "mid_save:1"]),
    "crash-then-resume": ("quick", ["after_checkpoint:1:RAISE"]),
    "between-benchmark-models": ("benchmark", ["between_units:1"]),
    "second-benchmark-model-mid-epoch": ("benchmark", ["mid_step:28"]),
    "between-distributed-labels": ("distributed", ["between_units:2"]),
}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    root = tmp_path_factory.mktemp("faults")
    first = build_tiny_model(root / "tiny-a")
    second = build_tiny_model(root / "tiny-b", seed=1, layers=1)
    dataset = write_tiny_dataset(root / "data.csv")
    workspace = new_workspace(root / "ws")

    def session(mode: str) -> Path:
        models = [first, second] if mode == "benchmark" else [first]
        config = dataset_config(dataset, multi_label=mode == "distributed")
        # Distributed mode trains one model per label (four): two epochs each keep it short.
        epochs = 2 if mode == "distributed" else 3
        return make_session(
            workspace, config, tiny_model_config(models, training_mode=mode, epochs=epochs)
        )

    scenarios = {
        f"reference-{mode}": Scenario(session(mode), [Step()])
        for mode in ("quick", "benchmark", "distributed")
    }
    for name, (mode, points) in SCENARIOS.items():
        steps = [Step(resume=index > 0, kill_at=point) for index, point in enumerate(points)]
        scenarios[name] = Scenario(session(mode), [*steps, Step(resume=True)])
    run_scenarios(list(scenarios.values()))
    return scenarios


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_resume_after_a_fault_is_bitwise_identical(matrix: dict[str, Scenario], name: str) -> None:
    mode, points = SCENARIOS[name]
    scenario, reference = matrix[name], matrix[f"reference-{mode}"]
    assert reference.returncodes == [0], reference.outputs
    expected = [1 if point.endswith(":RAISE") else KILLED for point in points] + [0]
    assert scenario.returncodes == expected, scenario.outputs[-1][-3000:]
    path = scenario.metadata_path
    assert load(path).execution_status.status == "completed"
    assert load(path).execution_status.resume_count == len(points)
    assert model_files(path) == model_files(reference.metadata_path)
    assert results_text(path) == results_text(reference.metadata_path)
    assert evaluation_keys(path) == evaluation_keys(reference.metadata_path)
    # Incomplete checkpoints were cleaned up, and finished units keep no checkpoint at all.
    assert not list((run_dir(path) / "checkpoints").rglob("checkpoint-*"))


def test_a_killed_session_reads_running_but_is_resumable(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    workspace = new_workspace(tmp_path / "ws")
    path = make_session(
        workspace,
        dataset_config(write_tiny_dataset(tmp_path / "d.csv")),
        tiny_model_config([model]),
    )
    scenario = Scenario(path, [Step(kill_at="after_checkpoint:1")])
    run_scenarios([scenario])
    assert scenario.returncodes == [KILLED]
    metadata = load(path)
    assert metadata.execution_status.status == "running"  # what the dead worker left
    assessment = assess_resume(Workspace(path.parents[2]), metadata)
    assert assessment.resumable, assessment.blocker
    assert assessment.checkpoint is not None and assessment.checkpoint.name == "checkpoint-8"

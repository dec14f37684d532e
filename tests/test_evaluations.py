"""Reading results: a session's evaluations from its progress file, every session's best F1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from engine.errors import OperationError
from engine.evaluations import (
    best_evaluation,
    read_evaluations,
    session_scores,
    single_predicted_class,
)
from engine.facade import Engine
from engine.progress import EvaluationDone, ProgressWriter, StatusChanged, StepLogged
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.widgets.evaluations_table import predicted_cell

BuildMetadata = Callable[..., TrainingMetadata]


def write_events(path: Path, *events: EvaluationDone | StatusChanged | StepLogged) -> None:
    writer = ProgressWriter(path)
    try:
        for event in events:
            writer.write(event)
    finally:
        writer.close()


def test_evaluations_are_read_in_order_and_other_events_skipped(tmp_path: Path) -> None:
    progress = tmp_path / "run" / "progress.jsonl"
    write_events(
        progress,
        StatusChanged(status="running"),
        StepLogged(step=10, max_steps=30, loss=0.9),
        EvaluationDone(model="camembert-base", step=10, epoch=1.0, macro_f1=0.61,
                       per_class_f1={"positive": 0.7, "negative": 0.52}),
        StepLogged(step=20, max_steps=30, loss=0.7),
        EvaluationDone(model="camembert-base", step=20, epoch=2.0, macro_f1=0.74),
    )  # fmt: skip
    evaluations = read_evaluations(progress)
    assert [(e.step, e.macro_f1) for e in evaluations] == [(10, 0.61), (20, 0.74)]
    assert evaluations[0].per_class_f1 == {"positive": 0.7, "negative": 0.52}


def test_bad_lines_are_skipped_and_a_repeated_evaluation_replaces_the_first(
    tmp_path: Path,
) -> None:
    progress = tmp_path / "progress.jsonl"
    write_events(progress, EvaluationDone(model="m", step=10, macro_f1=0.5))
    with progress.open("ab") as handle:
        # Junk, an evaluation with a bad field, and a killed worker's partial line.
        handle.write(b"not json at all, evaluation\n")
        handle.write(b'{"event": "evaluation", "step": "ten"}\n')
        handle.write(b'{"event": "evaluation", "step": 30, "macro_f')
    # A resume ends the partial line, then evaluates step 10 again and goes on.
    write_events(
        progress,
        EvaluationDone(model="m", step=20, macro_f1=0.6),
        EvaluationDone(model="m", step=10, macro_f1=0.55),
        EvaluationDone(model="other", step=10, macro_f1=0.4),
    )
    evaluations = read_evaluations(progress)
    assert [(e.model, e.step, e.macro_f1) for e in evaluations] == [
        ("m", 10, 0.55), ("m", 20, 0.6), ("other", 10, 0.4),
    ]  # fmt: skip


def test_a_session_that_never_ran_has_no_evaluations(tmp_path: Path) -> None:
    assert read_evaluations(tmp_path / "missing" / "progress.jsonl") == []


def test_an_unreadable_progress_folder_is_an_operation_error(tmp_path: Path) -> None:
    # A directory where the file should be: unreadable for root too.
    progress = tmp_path / "progress.jsonl"
    progress.mkdir()
    with pytest.raises(OperationError, match=r"cannot read .*progress\.jsonl"):
        read_evaluations(progress)


def test_best_evaluation_is_the_highest_macro_f1() -> None:
    evaluations = [
        EvaluationDone(step=1, macro_f1=None),
        EvaluationDone(step=2, macro_f1=0.7),
        EvaluationDone(step=3, macro_f1=0.8),
        EvaluationDone(step=4, macro_f1=0.8),
    ]
    best = best_evaluation(evaluations)
    assert best is not None and best.step == 3
    assert best_evaluation([EvaluationDone(step=1)]) is None
    assert best_evaluation([]) is None


def test_the_facade_reads_a_sessions_run_folder(workspace: Workspace) -> None:
    engine = Engine(workspace)
    write_events(engine.progress_path("train_1"), EvaluationDone(step=5, macro_f1=0.9))
    assert [e.step for e in engine.read_evaluations("train_1")] == [5]
    assert engine.read_evaluations("train_2") == []


def test_session_scores_give_each_sessions_best_f1_oldest_first(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    def completed(timestamp: str, f1: float | None, **fields: str) -> None:
        metadata = make_metadata(timestamp=timestamp, status="completed", **fields)
        metadata.execution_status.best_f1 = f1
        store.create(metadata)

    completed("20260102_090000", 0.8, dataset="/data/debates.csv")
    completed("20260101_120000", 0.7, model="flaubert")
    completed("20260103_080000", None)
    benchmark = make_metadata(timestamp="20260104_100000", status="completed", mode="benchmark")
    benchmark.training_model_config.selected_models = ["camembert-base", "xlm-roberta-base"]
    benchmark.execution_status.best_model = "xlm-roberta-base"
    benchmark.execution_status.best_f1 = 0.85
    store.create(benchmark)
    (workspace.sessions_dir / "broken.json").write_text("{", encoding="utf-8")

    scores = session_scores(store)
    assert [(s.session_id, s.best_f1) for s in scores] == [
        ("train_20260101_120000", 0.7),
        ("train_20260102_090000", 0.8),
        ("train_20260103_080000", None),
        ("train_20260104_100000", 0.85),
    ]
    assert scores[0].created == datetime(2026, 1, 1, 12, 0)
    assert scores[0].model == "flaubert"
    assert scores[1].dataset == "debates.csv"
    # A benchmark is grouped under its best model, not "(multiple)".
    assert scores[3].model == "xlm-roberta-base"
    assert Engine(workspace).session_scores() == scores


def test_a_test_evaluation_on_the_last_step_keeps_the_validation_one(tmp_path: Path) -> None:
    progress = tmp_path / "run" / "progress.jsonl"
    write_events(
        progress,
        EvaluationDone(model="m", step=20, epoch=2.0, macro_f1=0.74),
        # The final evaluation on a held-out test part falls on the same step.
        EvaluationDone(model="m", split="test", step=20, epoch=2.0, macro_f1=0.9),
    )
    evaluations = read_evaluations(progress)
    assert [(e.split, e.macro_f1) for e in evaluations] == [("validation", 0.74), ("test", 0.9)]
    # The best is chosen among the validation evaluations, as Trainer chose the model.
    best = best_evaluation(evaluations)
    assert best is not None and best.split == "validation"


def test_an_evaluation_that_predicted_one_class_for_every_text_is_told() -> None:
    collapsed = EvaluationDone(step=10, predicted_counts={"positive": 0, "negative": 32})
    assert single_predicted_class(collapsed) == "negative"
    assert predicted_cell(collapsed).plain == "⚠ only negative"
    healthy = EvaluationDone(step=10, predicted_counts={"positive": 12, "negative": 20})
    assert single_predicted_class(healthy) is None
    assert predicted_cell(healthy).plain == ""
    # Written before the counts were recorded: nothing to say.
    assert single_predicted_class(EvaluationDone(step=10)) is None

"""How the live view looks once a distributed run's labels stopped early: the label in progress,
how it ended, the curves per label; at 80x24, in colour and under NO_COLOR.

Update the baselines after checking the report (under the team's snapshot lock):
``pytest tests/test_monitor_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.facade import Engine
from engine.progress import (
    EvaluationDone,
    ModelFinished,
    ModelStarted,
    ProgressWriter,
    StatusChanged,
    StepLogged,
    TrainingStopped,
)
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.screens import DetailScreen, HistoryScreen, MonitorScreen
from llmtool_tui.screenshots import Scene, frozen_clock
from tests.conftest import EXAMPLE_FILE
from tests.test_app_snapshots import SNAPSHOT_ROOT

pytestmark = pytest.mark.xdist_group("snapshots")

SnapCompare = Callable[..., bool]
START = datetime(2025, 10, 5, 20, 0, tzinfo=UTC)
LABELS = ("joy", "anger")


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _ended_run(writer: ProgressWriter) -> None:
    """Two labels, each stopped early at step 60 of 100; the best model at step 40."""
    seconds = 0

    def at() -> datetime:
        nonlocal seconds
        seconds += 1
        return START + timedelta(seconds=seconds)

    writer.write(StatusChanged(time=at(), status="running", message="started"))
    for index, label in enumerate(LABELS, start=1):
        unit = f"bert-base [{label}]"
        writer.write(ModelStarted(time=at(), model=unit, label=label, index=index, total=2))
        for step in range(1, 61):
            loss = 0.9 / (1 + step / (10 * index)) + (step % 5) * 0.02
            writer.write(StepLogged(time=at(), model=unit, step=step, max_steps=100,
                                    epoch=step / 20, loss=loss))  # fmt: skip
            if step % 20 == 0:
                f1 = {20: 0.61, 40: 0.72, 60: 0.70}[step] - 0.05 * index
                evaluation = EvaluationDone(
                    time=at(), model=unit, step=step, epoch=step / 20, eval_loss=loss,
                    macro_f1=f1, accuracy=f1 + 0.1,
                )  # fmt: skip
                writer.write(evaluation)
        writer.write(
            TrainingStopped(time=at(), model=unit, label=label, reason="early_stopping",
                            message="early stopping: no better macro F1 for 1 evaluation",
                            step=60, max_steps=100, epoch=3.0, best_step=40, best_epoch=2.0,
                            best_f1=0.72 - 0.05 * index)
        )  # fmt: skip
        writer.write(ModelFinished(time=at(), model=unit, best_f1=0.72 - 0.05 * index))
    writer.write(StatusChanged(time=at(), status="completed"))


@pytest.fixture(scope="module")
def ended_workspace() -> Iterator[Workspace]:
    workspace = Workspace(SNAPSHOT_ROOT / "endings")
    shutil.rmtree(workspace.root, ignore_errors=True)
    workspace.root.mkdir(parents=True)
    workspace.ensure()
    document = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    document["training_session"]["timestamp"] = "20251005_200000"
    document["training_session"]["session_id"] = "train_20251005_200000"
    document["execution_status"] = {"status": "completed", "started_at": START.isoformat()}
    document["model_config"]["training_mode"] = "distributed"
    document["model_config"]["selected_model"] = "bert-base"
    document["model_config"]["epochs"] = 5
    SessionStore(workspace).create(TrainingMetadata.from_document(document))
    writer = ProgressWriter(workspace.progress_file("train_20251005_200000"))
    _ended_run(writer)
    writer.close()
    yield workspace
    shutil.rmtree(workspace.root, ignore_errors=True)


def _history(app: Any) -> bool:
    screen = app.screen
    return isinstance(screen, HistoryScreen) and screen.history is not None and not screen.fetching


def _detail(app: Any) -> bool:
    return isinstance(app.screen, DetailScreen) and app.screen.view is not None


def _monitor(app: Any) -> bool:
    screen = app.screen
    return isinstance(screen, MonitorScreen) and screen.status is not None and screen.shows_present


OPEN_MONITOR = Scene(((("1",), _history), (("1",), _detail), (("m",), _monitor)))


@pytest.mark.parametrize("no_color", [False, True], ids=["color", "no-color"])
def test_a_distributed_run_stopped_early_at_80x24(
    snap_compare: SnapCompare,
    ended_workspace: Workspace,
    no_color: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(Engine(ended_workspace), clock=frozen_clock, watch=False)
    assert snap_compare(app, run_before=OPEN_MONITOR.play, terminal_size=(80, 24))

"""Regenerate the README's screenshots (``python -m llmtool_tui.screenshots [OUT_DIR]``).

A demo workspace is built in a temporary directory (sessions of every status, a running
benchmark with its progress, an unreadable file) and the real app, made by the same factory as the
CLI's, is driven through each scene with ``App.run_test`` and saved with ``save_screenshot``. The
snapshot tests replay the same scenes, so the README shows what the tests check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, TextArea

from engine.facade import Engine
from engine.progress import (
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelFinished,
    ModelStarted,
    ProgressEvent,
    ProgressWriter,
    StatusChanged,
    StepLogged,
)
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.dialogs import (
    CleanupDialog,
    ConfirmDialog,
    ExportTemplateDialog,
    LocateDatasetDialog,
    NotesDialog,
    RelaunchEditDialog,
    TagsDialog,
)
from llmtool_tui.screens import (
    CompareScreen,
    DetailScreen,
    HistoryScreen,
    MonitorScreen,
    PerformanceScreen,
)

#: The demo's "now": the running session's last event was 12 s before it.
DEMO_NOW = datetime(2025, 10, 5, 23, 10, 12, tzinfo=UTC)
RUNNING_SESSION = "train_20251005_223000"
#: The machine the demo's running session trains on (the screenshots watch it from elsewhere).
DEMO_GPU_HOST = "gpu-box-1"
#: The completed sessions of the demo, with evaluations: the compare scene compares them.
COMPLETED_SESSIONS = ("train_20251005_234530", "train_20251005_180000")
SCREENSHOT_SIZE = (120, 36)


def frozen_clock() -> datetime:
    """The demo's clock."""
    return DEMO_NOW


def _document(
    timestamp: str, mode: str, dataset: Path, models: list[str], status: str, **execution: Any
) -> dict[str, Any]:
    workflow = f"Training Studio - {mode.capitalize()}"
    return {
        "training_session": {
            "timestamp": timestamp,
            "tool_version": "llmtool-tui 0.1.0",
            "workflow": workflow,
            "session_id": f"train_{timestamp}",
        },
        "dataset_config": {
            "primary_file": str(dataset),
            "format": dataset.suffix.lstrip("."),
            "strategy": "multi-label" if mode == "distributed" else "single-label",
            "text_column": "text",
            "label_column": "label",
            "total_samples": 1000,
            "num_categories": 3,
            "category_distribution": {"positive": 300, "negative": 250, "neutral": 450},
        },
        "language_config": {
            "confirmed_languages": ["FR", "EN"],
            "language_distribution": {"FR": 800, "EN": 200},
        },
        "text_analysis": {
            "text_length_stats": {
                "token_mean": 350,
                "token_median": 300,
                "token_max": 1024,
                "token_p95": 800,
            }
        },
        "model_config": {
            "training_mode": mode,
            "selected_model": models[0],
            "selected_models": models if len(models) > 1 else [],
            "epochs": 3,
            "batch_size": 16,
            "learning_rate": 2e-5,
        },
        "execution_status": {"status": status, **execution},
    }


def _demo_sessions(data: Path) -> list[dict[str, Any]]:
    """Sessions of every status, newest first, as the original tool's users know them."""
    started = "2025-10-05T22:30:04+00:00"
    return [
        _document(
            "20251005_234530",
            "quick",
            data / "annotated_data.csv",
            ["camembert-base"],
            "completed",
            started_at="2025-10-05T23:45:30+00:00",
            completed_at="2025-10-05T23:55:42+00:00",
            models_trained=["camembert-base"],
            best_model="camembert-base",
            best_f1=0.89,
        )
        | {
            "notes": "Baseline for the debates paper. Rerun with 5 epochs?",
            "tags": ["paper", "baseline"],
        },
        _document(
            "20251005_223000",
            "benchmark",
            data / "training_data.jsonl",
            ["xlm-roberta-base", "camembert-base", "bert-base-multilingual-cased"],
            "running",
            started_at=started,
            # Watched from a laptop: the run is on the GPU box, and its heartbeat is fresh at
            # the demo's frozen time.
            last_heartbeat_at=(DEMO_NOW - timedelta(seconds=8)).isoformat(),
            pid=48213,
            host=DEMO_GPU_HOST,
            process_started_at=DEMO_NOW.timestamp() - 2400,
        ),
        _document(
            "20251005_201500",
            "custom",
            data / "french_texts.csv",
            ["flaubert/flaubert_large_cased"],
            "interrupted",
            started_at="2025-10-05T20:15:10+00:00",
            error_message="stopped by user (SIGTERM)",
        ),
        _document(
            "20251005_180000",
            "distributed",
            data / "multilabel_data.jsonl",
            ["camembert-base"],
            "completed",
            best_f1=0.81,
        ),
        _document(
            "20251004_164000",
            "quick",
            data / "survey_[2024]_final.csv",
            ["bert-base-uncased"],
            "failed",
            error_type="BadInputError",
            error_message="label column 'label' has a single class [neutral]",
        ),
        _document(
            "20251004_090000", "custom", data / "annotated_data.csv", ["camembert-base"], "pending"
        ),
    ]


def _older_sessions(data: Path) -> list[dict[str, Any]]:
    """Completed sessions of the month before, oldest last: the performance chart's history."""
    sessions = []
    for timestamp, mode, dataset, models, best_model, best_f1 in (
        ("20251001_160000", "quick", "french_texts.csv", ["camembert-base"], None, 0.80),
        ("20250926_091000", "benchmark", "annotated_data.csv",
         ["xlm-roberta-base", "camembert-base"], "xlm-roberta-base", 0.86),
        ("20250920_143000", "custom", "french_texts.csv", ["flaubert/flaubert_base_cased"], None,
         0.77),
        ("20250912_101500", "quick", "annotated_data.csv", ["camembert-base"], None, 0.84),
    ):  # fmt: skip
        sessions.append(
            _document(
                timestamp,
                mode,
                data / dataset,
                models,
                "completed",
                best_model=best_model or models[0],
                best_f1=best_f1,
            )
        )
    return sessions


def _demo_evaluations(writer: ProgressWriter, curve: list[float], classes: list[float]) -> None:
    """A finished quick run: one evaluation per epoch, per-class F1 at each."""
    start = datetime(2025, 10, 5, 12, 0, tzinfo=UTC)
    for epoch, macro_f1 in enumerate(curve, start=1):
        shift = macro_f1 - curve[-1]
        writer.write(
            EvaluationDone(
                time=start + timedelta(minutes=10 * epoch),
                model="camembert-base",
                step=150 * epoch,
                epoch=float(epoch),
                eval_loss=0.7 - 0.1 * epoch,
                macro_f1=macro_f1,
                accuracy=macro_f1 + 0.04,
                per_class_f1={
                    name: round(value + shift, 3)
                    for name, value in zip(
                        ("positive", "negative", "neutral"), classes, strict=True
                    )
                },
            )
        )


def _demo_progress(writer: ProgressWriter) -> None:
    """The running benchmark: model 1 of 3 done, model 2 at step 180 of 450."""
    start = datetime(2025, 10, 5, 22, 30, 4, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    events: list[ProgressEvent] = [
        StatusChanged(time=at(0), status="running"),
        LogLine(time=at(1), message="1000 texts: 800 train, 200 validation (stratified, seed 42)"),
        ModelStarted(time=at(2), model="xlm-roberta-base", index=1, total=3),
    ]
    for step in range(10, 451, 10):
        events.append(
            StepLogged(
                time=at(2 + step * 2),
                model="xlm-roberta-base",
                step=step,
                max_steps=450,
                epoch=step / 150,
                loss=1.1 - step / 600,
                samples_per_second=8.1,
            )
        )
        if step % 150 == 0:
            epoch = step // 150
            events.append(
                EvaluationDone(
                    time=at(3 + step * 2),
                    model="xlm-roberta-base",
                    step=step,
                    epoch=float(epoch),
                    eval_loss=0.72 - 0.1 * epoch,
                    macro_f1=0.61 + 0.07 * epoch,
                    accuracy=0.70 + 0.05 * epoch,
                )
            )
            events.append(
                CheckpointSaved(
                    time=at(4 + step * 2),
                    model="xlm-roberta-base",
                    step=step,
                    path=f"checkpoints/xlm-roberta-base/checkpoint-{step}",
                )
            )
    events.append(ModelFinished(time=at(910), model="xlm-roberta-base", best_f1=0.82))
    events.append(ModelStarted(time=at(911), model="camembert-base", index=2, total=3))
    for step in range(10, 181, 10):
        events.append(
            StepLogged(
                time=at(911 + step * 8.33),
                model="camembert-base",
                step=step,
                max_steps=450,
                epoch=step / 150,
                loss=0.98 - step / 500,
                samples_per_second=7.7,
            )
        )
        if step == 150:
            events.append(
                EvaluationDone(
                    time=at(912 + step * 8.33),
                    model="camembert-base",
                    step=step,
                    epoch=1.0,
                    eval_loss=0.58,
                    macro_f1=0.71,
                    accuracy=0.77,
                )
            )
    events.append(
        LogLine(
            time=DEMO_NOW - timedelta(seconds=12),
            level="warning",
            message="validation set: class 'neutral' has 3 texts under 8 tokens",
        )
    )
    for event in events:
        writer.write(event)


def build_demo_workspace(root: Path) -> Workspace:
    """A new workspace at ``root`` (which must not exist yet) holding the demo sessions."""
    workspace = Workspace(root)
    root.mkdir(parents=True)
    workspace.ensure()
    data = root / "data"
    data.mkdir(exist_ok=True)
    (data / "french_texts.csv").write_text("text,label\nBonjour,positive\n", encoding="utf-8")
    store = SessionStore(workspace)
    # Modification times one hour apart, newest first, so the order never depends on the speed
    # at which the files were written.
    mtime = DEMO_NOW.timestamp()
    for document in _demo_sessions(data):
        path = store.create(TrainingMetadata.from_document(document))
        os.utime(path, (mtime, mtime))
        mtime -= 3600
    # A collaborator's file cut short in transfer: listed with its reason, never hiding the rest.
    broken = workspace.sessions_dir / "training_metadata_20251003_120000.json"
    broken.write_text('{"training_session": {"timestamp": "20251003_120000"', encoding="utf-8")
    os.utime(broken, (mtime, mtime))
    for document in _older_sessions(data):
        mtime -= 3600
        path = store.create(TrainingMetadata.from_document(document))
        os.utime(path, (mtime, mtime))
    for session_id, curve, classes in (
        (COMPLETED_SESSIONS[0], [0.78, 0.86, 0.89], [0.92, 0.88, 0.87]),
        (COMPLETED_SESSIONS[1], [0.72, 0.79, 0.81], [0.85, 0.74, 0.84]),
    ):
        evaluations = ProgressWriter(workspace.progress_file(session_id))
        try:
            _demo_evaluations(evaluations, curve, classes)
        finally:
            evaluations.close()
    writer = ProgressWriter(workspace.progress_file(RUNNING_SESSION))
    try:
        _demo_progress(writer)
    finally:
        writer.close()
    return workspace


def make_demo_app(workspace: Workspace) -> StudioApp:
    """The app over the demo workspace with the frozen clock (no watcher: a still workspace)."""
    return make_app(Engine(workspace, clock=frozen_clock), clock=frozen_clock, watch=False)


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Let the app run until ``condition`` holds. Raises TimeoutError after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"the app did not reach the expected state in {timeout} s")
        await pilot.pause(0.02)


def _history_loaded(app: StudioApp) -> bool:
    screen = app.screen
    return isinstance(screen, HistoryScreen) and screen.history is not None and not screen.fetching


def _detail_loaded(app: StudioApp) -> bool:
    return isinstance(app.screen, DetailScreen) and app.screen.view is not None


def _monitor_loaded(app: StudioApp) -> bool:
    screen = app.screen
    return isinstance(screen, MonitorScreen) and screen.status is not None and screen.shows_present


def _searched(app: StudioApp) -> bool:
    screen = app.screen
    return (
        isinstance(screen, HistoryScreen)
        and screen.shown_search is not None
        and screen.shown_search.describe() == screen.query_one("#filter", Input).value
        and not screen.fetching
    )


def _compared(app: StudioApp) -> bool:
    return isinstance(app.screen, CompareScreen) and app.screen.comparison is not None


def _performance_loaded(app: StudioApp) -> bool:
    return isinstance(app.screen, PerformanceScreen) and app.screen.scores is not None


def _dialog_shown(dialog: type[Screen[Any]]) -> Callable[[StudioApp], bool]:
    return lambda app: isinstance(app.screen, dialog)


@dataclass(frozen=True)
class Scene:
    """Keys to press from the start, each followed by a state to wait for."""

    steps: tuple[tuple[tuple[str, ...], Callable[[StudioApp], bool] | None], ...]

    async def play(self, pilot: Pilot[None]) -> None:
        """Drive the app to the scene (usable as snap_compare's ``run_before``)."""
        app = pilot.app
        assert isinstance(app, StudioApp)
        for keys, ready in self.steps:
            await pilot.press(*keys)
            if ready is not None:
                await wait_until(pilot, partial(ready, app))
        # A blinking cursor would make the same scene differ from one capture to the next.
        for field in app.screen.query(Input):
            field.cursor_blink = False
        for text in app.screen.query(TextArea):
            text.cursor_blink = False
        # Let the last key's re-render (and any layout it triggers, e.g. a chart resized to its
        # new container) settle: on a loaded machine one pause is not always enough.
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        await pilot.pause()


SCENES: dict[str, Scene] = {
    "options": Scene(()),
    "history": Scene(((("1",), _history_loaded),)),
    "detail": Scene(((("1",), _history_loaded), (("3",), _detail_loaded))),
    "monitor": Scene(
        ((("1",), _history_loaded), (("2",), _detail_loaded), (("m",), _monitor_loaded))
    ),
    "relaunch_edit": Scene(((("1",), _history_loaded), (("1",), _detail_loaded), (("e",), None))),
    "locate_dataset": Scene(
        (
            (("1",), _history_loaded),
            (("1",), _detail_loaded),
            (("l",), _dialog_shown(ConfirmDialog)),
            (("y",), _dialog_shown(LocateDatasetDialog)),
        )
    ),
    "quit": Scene(((("3",), _dialog_shown(ConfirmDialog)),)),
    "help": Scene(((("1",), _history_loaded), (("question_mark",), None))),
    "search": Scene(
        ((("1",), _history_loaded), (("slash", *"status:completed model:camembert"), _searched))
    ),
    # Session 1 and session 4, the two completed ones with evaluations (marking moves down).
    "compare": Scene(
        (
            (("1",), _history_loaded),
            (("space", "down", "down", "space", "c"), _compared),
            (("d",), None),
        )
    ),
    "performance": Scene(((("1",), _history_loaded), (("g",), _performance_loaded))),
    "notes": Scene(
        ((("1",), _history_loaded), (("1",), _detail_loaded), (("n",), _dialog_shown(NotesDialog)))
    ),
    "tags": Scene(
        ((("1",), _history_loaded), (("1",), _detail_loaded), (("t",), _dialog_shown(TagsDialog)))
    ),
}


# -- long messages: each wraps whole where it is shown (snapshot tests only) ------------------

#: Longer than a line at 80 columns, as the worker words an interruption.
LONG_INTERRUPTION = (
    "stopped by user (SIGTERM) while epoch 2 of 3 was evaluated; resume continues from "
    "checkpoint-300"
)
#: A cluster node's full name: the running session's host, silent for hours.
CLUSTER_HOST = "gpu-node-17.cluster.sciences-sociales.example.org"
MISSING_DATASET = "/data/corpora/parliamentary-debates/annotated_data_final_version_2025.csv"
MISSING_TEMPLATE_DIR = "/data/shared/templates/parliamentary-debates/camembert_baseline.json"


def lengthen_messages(workspace: Workspace) -> None:
    """The demo's interrupted session interrupted as the worker words it, and its running
    session gone silent on a cluster node (its status gives the node's whole name)."""
    store = SessionStore(workspace)

    def interrupted(metadata: TrainingMetadata) -> None:
        metadata.execution_status.error_message = LONG_INTERRUPTION

    def silent(metadata: TrainingMetadata) -> None:
        metadata.execution_status.host = CLUSTER_HOST
        metadata.execution_status.last_heartbeat_at = DEMO_NOW - timedelta(hours=3)

    for session_id, change in (("train_20251005_201500", interrupted), (RUNNING_SESSION, silent)):
        path = (
            workspace.sessions_dir / f"training_metadata_{session_id.removeprefix('train_')}.json"
        )
        # The history's order is the files' modification times: kept.
        times = path.stat()
        store.update(path, change)
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
    # The interrupted run's log, for its live view.
    writer = ProgressWriter(workspace.progress_file("train_20251005_201500"))
    try:
        started = datetime(2025, 10, 5, 20, 15, 10, tzinfo=UTC)
        writer.write(StatusChanged(time=started, status="running"))
        writer.write(
            StatusChanged(
                time=started + timedelta(minutes=25),
                status="interrupted",
                message=LONG_INTERRUPTION,
            )
        )
    finally:
        writer.close()


def _error_shown(selector: str) -> Callable[[StudioApp], bool]:
    return lambda app: bool(str(app.screen.query_one(selector).render()).strip())


#: Scenes of ``lengthen_messages``'s workspace, each ending on a message longer than a line.
LONG_MESSAGE_SCENES: dict[str, Scene] = {
    "monitor": Scene(
        ((("1",), _history_loaded), (("3",), _detail_loaded), (("m",), _monitor_loaded))
    ),
    "detail": Scene(((("1",), _history_loaded), (("2",), _detail_loaded))),
    "history": Scene(
        (
            (("1",), _history_loaded),
            (("slash", *"model:camembert", "enter"), _searched),
            (("space", "down", "space"), None),
        )
    ),
    "locate_dataset": Scene(
        (
            (("1",), _history_loaded),
            (("1",), _detail_loaded),
            (("l",), _dialog_shown(ConfirmDialog)),
            (("y",), _dialog_shown(LocateDatasetDialog)),
            ((*MISSING_DATASET, "enter"), _error_shown("#locate-error")),
        )
    ),
    "export_template": Scene(
        (
            (("1",), _history_loaded),
            (("1",), _detail_loaded),
            (("x",), _dialog_shown(ExportTemplateDialog)),
            (("end", "ctrl+u", *MISSING_TEMPLATE_DIR, "enter"), _error_shown("#export-error")),
        )
    ),
    "cleanup": Scene(
        (
            (("1",), _history_loaded),
            (("ctrl+d",), _dialog_shown(CleanupDialog)),
            (("end", "ctrl+u", *"three months", "enter"), _error_shown("#cleanup-error")),
        )
    ),
    # Two refusals at 80x24: a moved dataset and a batch size out of bounds.
    "relaunch_edit": Scene(
        (
            (("1",), _history_loaded),
            (("1",), _detail_loaded),
            (("e",), _dialog_shown(RelaunchEditDialog)),
            (
                ("end", "ctrl+u", *MISSING_DATASET, "tab", "tab", "tab", "end", "ctrl+u", "0"),
                None,
            ),
            (("enter",), _error_shown("#relaunch-errors")),
        )
    ),
}


async def save_scenes(
    workspace: Workspace, out_dir: Path, size: tuple[int, int] = SCREENSHOT_SIZE
) -> list[Path]:
    """Play every scene on the demo workspace and save it as ``out_dir/<scene>.svg``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, scene in SCENES.items():
        app = make_demo_app(workspace)
        async with app.run_test(size=size) as pilot:
            await scene.play(pilot)
            saved.append(Path(app.save_screenshot(f"{name}.svg", str(out_dir))))
    return saved


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m llmtool_tui.screenshots", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "out_dir",
        nargs="?",
        default="screenshots",
        type=Path,
        help="where the SVG files go (default: screenshots/)",
    )
    args = parser.parse_args(argv)
    # A fixed place rather than a random temporary name: paths shown in the screenshots (the
    # dataset's) stay the same from one regeneration to the next.
    root = Path(tempfile.gettempdir()) / "llmtool-tui-demo"
    shutil.rmtree(root, ignore_errors=True)
    try:
        workspace = build_demo_workspace(root)
        for path in asyncio.run(save_scenes(workspace, args.out_dir)):
            print(path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Live monitoring fed by a progress.jsonl the test appends to, as a worker would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import ProgressBar, Static

from bench.bench_live_view import write_long_run
from engine.facade import Engine
from engine.progress import (
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelFinished,
    ModelStarted,
    ProgressWriter,
    StatusChanged,
    StepLogged,
    TrainingStopped,
)
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.screens import DetailScreen, HistoryScreen, MonitorScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import EvaluationsTable, LogView, ProgressPanel
from llmtool_tui.widgets.f1_chart import F1Chart
from llmtool_tui.widgets.log_view import PAGE_LINES
from llmtool_tui.widgets.loss_chart import LossChart
from llmtool_tui.widgets.progress_panel import RunProgress, format_duration
from llmtool_tui.widgets.training_charts import TrainingCharts
from tests.fakes import IDLE_MODULE, idle_process, record_running, worker_env
from tests.test_app_actions import WORKER_TIMEOUT_S, FakeWorkerEngine

BuildMetadata = Callable[..., TrainingMetadata]
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NOW = START + timedelta(seconds=200)
SESSION = "train_20260101_120000"


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.fixture
def running_session(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> Iterator[Path]:
    """A benchmark of two models 'run' by a stand-in worker process (alive, on this host)."""
    metadata = make_metadata(status="pending", mode="benchmark")
    config = metadata.training_model_config
    config.selected_models = ["bert-tiny", "[b]odd[/b]-model"]
    config.epochs = 2
    path = store.create(metadata)
    with idle_process(path) as worker:
        record_running(workspace, path, worker)
        yield path


@pytest.fixture
def progress(workspace: Workspace) -> Iterator[ProgressWriter]:
    writer = ProgressWriter(workspace.run_dir(SESSION) / "progress.jsonl")
    yield writer
    writer.close()


async def open_monitor(pilot: Pilot[None]) -> MonitorScreen:
    app = pilot.app
    await pilot.press("1")
    await wait_until(
        pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.history is not None
    )
    await pilot.press("1")
    await wait_until(
        pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.view is not None
    )
    await pilot.press("m")
    await wait_until(
        pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.status is not None
    )
    assert isinstance(app.screen, MonitorScreen)
    return app.screen


def app_for(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace, worker_module=IDLE_MODULE), clock=lambda: NOW, watch=False)


def text_of(monitor: MonitorScreen, selector: str) -> str:
    return str(monitor.query_one(selector, Static).render())


async def test_live_view_follows_progress_appended_to_the_file(
    workspace: Workspace, running_session: Path, progress: ProgressWriter
) -> None:
    progress.write(StatusChanged(time=at(0), status="running"))
    progress.write(ModelStarted(time=at(1), model="bert-tiny", index=1, total=2))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        panel = monitor.query_one(ProgressPanel)
        await wait_until(pilot, lambda: panel.progress.model == "bert-tiny")
        assert "▶ running" in text_of(monitor, "#monitor-status")
        assert text_of(monitor, "#progress-model") == "Model: 1 of 2: bert-tiny"

        # The worker appends steps and an evaluation; the screen follows.
        progress.write(StepLogged(time=at(10), step=10, max_steps=40, epoch=0.5, loss=0.9))
        progress.write(
            StepLogged(time=at(100), step=40, max_steps=40, epoch=1.0, loss=0.5,
                       samples_per_second=12.5)
        )  # fmt: skip
        progress.write(
            EvaluationDone(time=at(101), model="bert-tiny", step=40, epoch=1.0, eval_loss=0.45,
                           macro_f1=0.8123, accuracy=0.85)
        )  # fmt: skip
        progress.write(CheckpointSaved(time=at(102), step=40, path="checkpoint-40"))
        progress.write(ModelFinished(time=at(103), model="bert-tiny", best_f1=0.8123))
        progress.write(ModelStarted(time=at(104), model="[b]odd[/b]-model", index=2, total=2))
        progress.write(StepLogged(time=at(110), step=5, max_steps=40, epoch=0.25, loss=1.2))
        progress.write(StepLogged(time=at(120), step=15, max_steps=40, epoch=0.75, loss=1.0))
        progress.write(LogLine(time=at(180), level="warning", message="[red]not markup[/red]"))
        await wait_until(pilot, lambda: monitor.events_seen == 11)

        assert text_of(monitor, "#progress-model") == "Model: 2 of 2: [b]odd[/b]-model"
        assert text_of(monitor, "#progress-steps") == "Step 15/40 · Epoch 0.75/2"
        # 10 steps in 10 s since this model started: 25 steps left take 25 s.
        figures = text_of(monitor, "#progress-figures")
        assert figures == "Loss 1.0000 · 12.5 samples/s · ETA 25 s · updated 20 s ago"
        evaluations = monitor.query_one(EvaluationsTable)
        assert evaluations.row_count == 1
        row = [cell.plain for cell in evaluations.get_row_at(0)]
        assert row == ["bert-tiny", "1.00", "40", "0.4500", "0.812", "0.850", ""]
        log = monitor.query_one(LogView)
        lines = [str(line) for line in log.lines]
        assert lines[0] == f"Following logs/training_runs/{SESSION}/progress.jsonl"
        assert any("model   2/2 [b]odd[/b]-model started" in line for line in lines)
        assert any("ckpt    step 40: checkpoint-40" in line for line in lines)
        assert lines[-1].endswith("WARNING [red]not markup[/red]")

        progress.write(StatusChanged(time=at(190), status="completed"))
        await wait_until(pilot, lambda: monitor.events_seen == 12)
        assert lines_contain(log, "status  completed")


def lines_contain(log: LogView, text: str) -> bool:
    return any(text in str(line) for line in log.lines)


async def test_scrolling_up_stops_following_and_end_follows_again(
    workspace: Workspace, running_session: Path, progress: ProgressWriter
) -> None:
    for index in range(60):
        progress.write(LogLine(time=at(index), message=f"line {index}"))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        log = monitor.query_one(LogView)
        await wait_until(pilot, lambda: monitor.events_seen == 60)
        await pilot.pause()
        log.scroll_end(animate=False, immediate=True, x_axis=False)
        assert log.follow and log.is_vertical_scroll_end
        await pilot.press("home")
        assert not log.follow
        assert log.border_subtitle == "paused · End to follow"
        progress.write(LogLine(time=at(61), message="new while paused"))
        progress.write(LogLine(time=at(62), message="and another"))
        await wait_until(pilot, lambda: monitor.events_seen == 62)
        assert log.scroll_y == 0
        assert log.border_subtitle == "+2 new lines · End to follow"
        await pilot.press("end")
        await pilot.pause()
        assert log.follow and log.is_vertical_scroll_end
        assert log.border_subtitle == ""


async def test_a_session_without_progress_waits_for_its_file(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    store.create(make_metadata(status="pending"))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        assert "⏸ pending" in text_of(monitor, "#monitor-status")
        assert text_of(monitor, "#progress-model") == "Model: waiting for the first model to start"
        assert text_of(monitor, "#progress-figures") == "Loss -"
        assert monitor.check_action("stop", ()) is False
        # The file appears later (the worker starts): it is picked up.
        writer = ProgressWriter(workspace.run_dir(SESSION) / "progress.jsonl")
        writer.write(ModelStarted(time=at(0), model="bert-tiny"))
        writer.close()
        await wait_until(pilot, lambda: monitor.events_seen == 1)
        assert text_of(monitor, "#progress-model") == "Model: bert-tiny"
        # The live view was opened from the details: d goes back to them, not to a second copy.
        await pilot.press("d")
        assert isinstance(pilot.app.screen, DetailScreen)
        assert [type(screen) for screen in pilot.app.screen_stack][1:] == [
            HistoryScreen, DetailScreen,
        ]  # fmt: skip


def test_eta_is_timed_from_the_last_resume() -> None:
    progress = RunProgress()
    progress.apply(ModelStarted(time=at(0), model="m"))
    progress.apply(StepLogged(time=at(10), step=10, max_steps=100))
    progress.apply(StepLogged(time=at(20), step=20, max_steps=100))
    assert progress.eta_seconds == pytest.approx(80.0)
    # A resume restarts from a checkpoint's (lower) step: the rate is timed from there.
    progress.apply(StepLogged(time=at(1000), step=15, max_steps=100))
    assert progress.eta_seconds is None
    progress.apply(StepLogged(time=at(1005), step=25, max_steps=100))
    assert progress.eta_seconds == pytest.approx(37.5)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0 s"), (59.6, "1 min 00 s"), (192, "3 min 12 s"),
                           (7500, "2 h 05 min")]
)  # fmt: skip
def test_durations_read_naturally(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_a_resume_starts_from_its_checkpoint_with_the_total_it_had() -> None:
    progress = RunProgress()
    progress.apply(ModelStarted(time=at(0), model="m"))
    progress.apply(StepLogged(time=at(10), step=30, max_steps=60, epoch=0.5, loss=0.7))
    # A stop checkpoints past the last logged step: the run stands there.
    progress.apply(CheckpointSaved(time=at(11), model="m", step=35, path="checkpoint-35"))
    assert (progress.step, progress.max_steps) == (35, 60)
    # The resumed run starts from the checkpoint and logs no step for a while.
    progress.apply(
        ModelStarted(time=at(500), model="m", resumed_from="checkpoint-35", from_step=35)
    )
    assert (progress.step, progress.max_steps, progress.eta_seconds) == (35, 60, None)
    progress.apply(StepLogged(time=at(510), step=40, max_steps=60))
    progress.apply(StepLogged(time=at(520), step=45, max_steps=60))
    assert progress.eta_seconds == pytest.approx(30.0)
    # Another model starts from nothing: its total is not the previous one's.
    progress.apply(ModelStarted(time=at(600), model="other", index=2, total=2))
    assert (progress.step, progress.max_steps) == (0, None)


async def test_live_view_after_a_resume_never_goes_below_the_checkpoint(
    workspace: Workspace,
    store: SessionStore,
    make_metadata: BuildMetadata,
    progress: ProgressWriter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.create(make_metadata(status="interrupted"))
    # A first attempt long enough to be read in several batches, stopped at step 2000.
    progress.write(StatusChanged(time=at(0), status="running"))
    progress.write(ModelStarted(time=at(0), model="bert-tiny"))
    for step in range(1, 2000):
        progress.write(StepLogged(time=at(step / 100), step=step, max_steps=4000, loss=1.0))
    progress.write(CheckpointSaved(time=at(21), model="bert-tiny", step=2000, path="ckpt"))
    progress.write(StatusChanged(time=at(22), status="interrupted"))
    shown: list[str] = []
    render = ProgressPanel.render_progress

    def recorded(panel: ProgressPanel) -> None:
        render(panel)
        shown.append(str(panel.query_one("#progress-steps", Static).render()))

    monkeypatch.setattr(ProgressPanel, "render_progress", recorded)
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        panel = monitor.query_one(ProgressPanel)
        await wait_until(pilot, lambda: monitor.events_seen > 0)
        assert text_of(monitor, "#progress-steps") == "Step 2000/4000"
        # Read from the run's summary: most of the 2,003 events (steps) were never parsed.
        assert monitor.events_seen < 1000
        # The resumed worker starts from the checkpoint; its first logged step comes later.
        progress.write(StatusChanged(time=at(100), status="running"))
        progress.write(
            ModelStarted(time=at(101), model="bert-tiny", resumed_from="checkpoint-2000",
                         from_step=2000)
        )  # fmt: skip
        await wait_until(pilot, lambda: panel.progress.last_event_at == at(101))
        assert text_of(monitor, "#progress-steps") == "Step 2000/4000"
        progress.write(StepLogged(time=at(110), step=2001, max_steps=4000, loss=0.5))
        await wait_until(pilot, lambda: panel.progress.step == 2001)
        # A live view opened now reads the whole file: it shows where the run stands at once.
        await pilot.press("escape")
        await pilot.press("m")
        await wait_until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, MonitorScreen)
                and pilot.app.screen is not monitor
                and pilot.app.screen.query_one(ProgressPanel).progress.step == 2001
            ),
        )
        assert text_of(pilot.app.screen, "#progress-steps") == "Step 2001/4000"
    steps = [text for text in shown if text.startswith("Step")]
    assert steps and all(int(text.split()[1].split("/")[0]) >= 2000 for text in steps), steps
    assert not any("?" in text or text.startswith("Step 0") for text in shown), shown


async def test_a_session_without_steps_waits_for_the_first_one_not_for_step_0(
    workspace: Workspace, running_session: Path, progress: ProgressWriter
) -> None:
    progress.write(ModelStarted(time=at(1), model="bert-tiny", index=1, total=2))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        await wait_until(pilot, lambda: monitor.events_seen == 1)
        assert text_of(monitor, "#progress-steps") == "Waiting for the first step"


async def test_the_live_view_of_an_interrupted_session_resumes_it_in_place(
    workspace: Workspace,
    store: SessionStore,
    make_metadata: BuildMetadata,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in worker_env(FAKE_WORKER_STEPS="20", FAKE_WORKER_STEP_S="0.02").items():
        monkeypatch.setenv(name, value)
    engine = FakeWorkerEngine(workspace)
    path = store.create(make_metadata(status="interrupted", dataset=str(dataset)))
    try:
        async with make_app(engine, clock=lambda: NOW, watch=False).run_test(
            size=(100, 30)
        ) as pilot:
            monitor = await open_monitor(pilot)
            assert monitor.check_action("resume", ()) is True
            # The same request as the details' r: the app launches it (and asks what it must).
            await pilot.press("r")
            await wait_until(pilot, lambda: monitor.status == "completed", timeout=WORKER_TIMEOUT_S)
            # Followed in the view it was resumed from, not in a second one.
            assert pilot.app.screen is monitor
            assert sum(isinstance(s, MonitorScreen) for s in pilot.app.screen_stack) == 1
            await wait_until(pilot, lambda: text_of(monitor, "#progress-steps") == "Step 20/20")
            assert monitor.check_action("resume", ()) is False
    finally:
        for handle in engine.handles:
            if handle.poll() is None:
                handle.process.kill()
                handle.wait(5)
    assert read_metadata(path).execution_status.resume_count == 1


async def test_the_live_view_offers_r_when_the_dataset_moved_as_the_details_do(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata, tmp_path: Path
) -> None:
    store.create(make_metadata(status="interrupted", dataset=str(tmp_path / "moved.csv")))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        # r opens the dialog that locates the dataset, through the details' path.
        assert monitor.check_action("resume", ()) is True
        await pilot.press("d")
        detail = pilot.app.screen
        assert isinstance(detail, DetailScreen)
        await wait_until(pilot, lambda: detail.view is not None)
        assert detail.check_action("resume", ()) is True


# -- a long run opened at the present, how it ended, curves, the log's backlog ----------------


async def test_a_run_of_300000_steps_opens_at_its_last_step_never_replaying_the_others(
    workspace: Workspace,
    store: SessionStore,
    make_metadata: BuildMetadata,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.create(make_metadata(status="completed"))
    write_long_run(workspace.run_dir(SESSION), 300_000)
    shown: list[str] = []
    render = ProgressPanel.render_progress

    def recorded(panel: ProgressPanel) -> None:
        render(panel)
        shown.append(str(panel.query_one("#progress-steps", Static).render()))

    monkeypatch.setattr(ProgressPanel, "render_progress", recorded)
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        await wait_until(pilot, lambda: monitor.events_seen > 0)
        assert text_of(monitor, "#progress-steps").startswith("Step 300000/300000")
        # The first step shown is the last one: no step of the way there was ever on screen.
        steps = [text for text in shown if text.startswith("Step")]
        assert steps and all(text.startswith("Step 300000/300000") for text in steps), steps
        # Read from the summary and the log's end: a few hundred events, not 300,000.
        assert monitor.events_seen < 2_000
        evaluations = monitor.query_one(EvaluationsTable)
        assert evaluations.row_count == 20
        # The loss curve has every model's line, downsampled to the chart's width; drawn right
        # after the run's state, not before it.
        await wait_until(pilot, lambda: bool(monitor.query("#loss-chart")))
        loss = monitor.query_one("#loss-chart", LossChart)
        await wait_until(pilot, lambda: [line.label for line in loss.series] == ["bert-base"])
        assert 10 <= len(loss.series[0].points) <= loss.size.width


async def test_how_a_label_s_training_ended_is_shown_and_the_bar_ends_there(
    workspace: Workspace,
    store: SessionStore,
    make_metadata: BuildMetadata,
    progress: ProgressWriter,
) -> None:
    metadata = make_metadata(status="completed", mode="distributed")
    metadata.training_model_config.epochs = 8
    store.create(metadata)
    progress.write(ModelStarted(time=at(0), model="bert [joy]", label="joy", index=2, total=4))
    progress.write(StepLogged(time=at(1), model="bert [joy]", step=400, max_steps=480, epoch=6.7))
    progress.write(
        TrainingStopped(time=at(2), model="bert [joy]", label="joy", reason="early_stopping",
                        message="early stopping: no better macro F1 for 3 evaluations",
                        step=420, max_steps=480, epoch=7.0, best_step=240, best_epoch=4.0,
                        best_f1=0.8123)
    )  # fmt: skip
    progress.write(ModelFinished(time=at(3), model="bert [joy]", best_f1=0.8123))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        await wait_until(pilot, lambda: monitor.events_seen == 4)
        assert text_of(monitor, "#progress-model") == "Model: joy: 2/4 · bert [joy]"
        # Where training stopped, not the planned end.
        assert text_of(monitor, "#progress-steps") == "Step 420/480 · Epoch 7.00/8"
        bar = monitor.query_one("#progress-bar", ProgressBar)
        assert (bar.progress, bar.total) == (420, 480)
        assert text_of(monitor, "#progress-ending") == (
            "Ended: early stopping: no better macro F1 for 3 evaluations at step 420"
            " (epoch 7) · best model: step 240 (epoch 4), macro F1 0.812"
        )
        log = monitor.query_one(LogView)
        assert any("model   joy: 2/4 bert [joy] started" in line for line in log.lines)
        assert any(
            "ended   bert [joy]: early stopping: no better macro F1 for 3 evaluations at step"
            " 420, best model at step 240" in line
            for line in log.lines
        )


async def test_curves_have_a_line_per_model_follow_the_run_and_fold_away(
    workspace: Workspace, running_session: Path, progress: ProgressWriter
) -> None:
    progress.write(ModelStarted(time=at(0), model="bert-tiny", index=1, total=2))
    for step in range(1, 41):
        progress.write(StepLogged(time=at(step), model="bert-tiny", step=step, max_steps=40,
                                  loss=2.0 / step))  # fmt: skip
    progress.write(EvaluationDone(time=at(41), model="bert-tiny", step=40, macro_f1=0.7))
    async with app_for(workspace).run_test(size=(80, 24)) as pilot:
        monitor = await open_monitor(pilot)
        charts = monitor.query_one(TrainingCharts)
        await wait_until(pilot, lambda: len(monitor.query("#loss-chart, #f1-chart")) == 2)
        loss = monitor.query_one("#loss-chart", LossChart)
        f1 = monitor.query_one("#f1-chart", F1Chart)
        await wait_until(pilot, lambda: [line.label for line in loss.series] == ["bert-tiny"])
        assert [line.points for line in f1.series] == [((40.0, 0.7),)]
        # One point per column at most, and smoothed: each point is pulled toward the ones
        # before it, so the curve falls slower than the losses.
        points = loss.series[0].points
        assert len(points) <= loss.size.width
        last_step, last_loss = points[-1]
        assert last_step >= 39 and last_loss > 2.0 / 39
        # The second model of the benchmark gets a line of its own as its steps arrive.
        progress.write(ModelStarted(time=at(50), model="[b]odd[/b]-model", index=2, total=2))
        progress.write(StepLogged(time=at(51), model="[b]odd[/b]-model", step=1, max_steps=40,
                                  loss=1.5))  # fmt: skip
        await wait_until(pilot, lambda: len(loss.series) == 2, timeout=5)
        assert loss.series[1].label == "[b]odd[/b]-model"
        # c folds the curves away (more rows for the table and the log) and back.
        await pilot.press("c")
        assert not charts.display
        await pilot.press("c")
        assert charts.display


async def test_the_log_shows_its_last_lines_and_loads_older_ones_on_scroll_back(
    workspace: Workspace, running_session: Path, progress: ProgressWriter
) -> None:
    for index in range(1, 1001):
        progress.write(LogLine(time=at(index), message=f"line {index}"))
    async with app_for(workspace).run_test(size=(100, 30)) as pilot:
        monitor = await open_monitor(pilot)
        log = monitor.query_one(LogView)
        await wait_until(pilot, lambda: monitor.events_seen == 1000)
        assert log.lines[-1].endswith("line 1000")
        # The last lines only are laid out; the others wait for the user to scroll back.
        assert log.line_count == PAGE_LINES + 1  # with the "Following …" line
        assert len(log.older) == 1000 - PAGE_LINES
        await pilot.press("home")
        assert log.lines[0].endswith("line 1")
        assert log.line_count == 1001 and not log.older

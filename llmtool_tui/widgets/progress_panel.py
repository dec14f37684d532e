"""Where a run stands: model ``k of n`` (``joy: 2/4`` per label), a progress bar with steps,
epoch, loss, speed and ETA, and once a model's training stopped, why and where its best model is.

Everything shown is derived from the run's progress events (and the session's metadata for what
the events do not carry, such as the planned epochs), so the panel looks the same whether the run
was started by this app, by another process, or before the app was opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from engine.progress import (
    CheckpointSaved,
    EvaluationDone,
    ModelFinished,
    ModelStarted,
    ProgressEvent,
    StepLogged,
    TrainingStopped,
)
from llmtool_tui.clock import Clock
from llmtool_tui.untrusted import visible
from llmtool_tui.widgets.evaluations_table import format_metric


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min 12 s``, ``2 h 05 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class RunProgress:
    """The state of a run as its events tell it."""

    model: str | None = None
    label: str | None = None
    """Distributed mode: the label the current model is trained for."""
    model_index: int | None = None
    models_total: int | None = None
    step: int = 0
    max_steps: int | None = None
    epoch: float | None = None
    loss: float | None = None
    samples_per_second: float | None = None
    last_event_at: datetime | None = None
    rate_origin: tuple[datetime, int] | None = None
    """First step event of the current model (after a start or a resume): the ETA's origin."""
    steps_per_second: float | None = None
    ending: TrainingStopped | None = None
    """Why and where the current model's training stopped, once it did."""

    def apply(self, event: ProgressEvent) -> None:
        """Take ``event`` into account."""
        if event.time.tzinfo is None:
            # A time written without a zone by another tool: progress times are UTC.
            event = event.model_copy(update={"time": event.time.replace(tzinfo=UTC)})
        self.last_event_at = event.time
        match event:
            case ModelStarted():
                # A resume of the model shown keeps its max steps (a resumed run logs none
                # until its first step) and starts from its checkpoint's step, never from 0.
                resumed = event.resumed_from is not None and event.model == self.model
                self.model, self.model_index, self.models_total = (
                    event.model,
                    event.index,
                    event.total,
                )
                self.label, self.ending = event.label, None
                self.step, self.epoch, self.loss = event.from_step, None, None
                if not resumed:
                    self.max_steps = None
                self.rate_origin, self.steps_per_second = None, None
            case StepLogged():
                self._apply_step(event)
            case CheckpointSaved(model=model) if model in (None, self.model):
                # A stop checkpoints past the last logged step: that is where a resume starts.
                self.step = max(self.step, event.step)
            case EvaluationDone(epoch=epoch) if epoch is not None:
                self.epoch = epoch
            case TrainingStopped():
                # The bar ends where training stopped (early stopping: before the planned end).
                self.ending = event
                self.step = event.step if event.step is not None else self.step
                self.epoch = event.epoch if event.epoch is not None else self.epoch
                self.max_steps = event.max_steps or self.max_steps
            case ModelFinished() if self.ending is None:
                # A run recorded before endings were: its last logged step may precede the end.
                if self.max_steps is not None:
                    self.step = self.max_steps

    def _apply_step(self, event: StepLogged) -> None:
        if event.model is not None:
            self.model = event.model
        self.max_steps = event.max_steps
        if event.step < self.step or self.rate_origin is None:
            # A resume starts again from a checkpoint's step: time the rate from there.
            self.rate_origin, self.steps_per_second = (event.time, event.step), None
        self.step = event.step
        self.epoch = event.epoch if event.epoch is not None else self.epoch
        self.loss = event.loss if event.loss is not None else self.loss
        if event.samples_per_second is not None:
            self.samples_per_second = event.samples_per_second
        origin_time, origin_step = self.rate_origin
        elapsed = (event.time - origin_time).total_seconds()
        if elapsed > 0 and event.step > origin_step:
            self.steps_per_second = (event.step - origin_step) / elapsed

    def position(self) -> str | None:
        """``joy: 2/4`` for a label's model, ``1 of 2`` among several models, else None."""
        if self.label:
            return f"{self.label}: {self.model_index or '?'}/{self.models_total or '?'}"
        if self.models_total and self.models_total > 1:
            return f"{self.model_index or '?'} of {self.models_total}"
        return None

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left for the current model at the measured step rate."""
        if not self.steps_per_second or self.max_steps is None or self.ending is not None:
            return None
        return max(0, self.max_steps - self.step) / self.steps_per_second


class ProgressPanel(Vertical):
    """The current model, a progress bar and the run's figures."""

    DEFAULT_CSS = """
    ProgressPanel {
        height: auto;
    }
    ProgressPanel > Horizontal {
        height: 1;
    }
    ProgressPanel #progress-bar {
        width: 1fr;
        margin-right: 2;
    }
    ProgressPanel #progress-bar Bar {
        width: 1fr;
    }
    ProgressPanel #progress-steps {
        width: auto;
    }
    """

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.progress = RunProgress()
        self.planned_epochs: int | None = None
        """Epochs the session's metadata plans (the events only tell the epochs done)."""
        self.live = True
        """Whether the run is going on: only then are an ETA and the time since the last event
        meaningful."""
        self.reading = True
        """While the events already written are read: the panel waits for where the run stands
        rather than showing each step it went through (a resumed run's first attempt)."""

    def compose(self) -> ComposeResult:
        yield Static(id="progress-model")
        with Horizontal():
            yield ProgressBar(total=1, show_eta=False, id="progress-bar")
            yield Static(id="progress-steps")
        yield Static(id="progress-figures")
        yield Static(id="progress-ending")

    def on_mount(self) -> None:
        self.render_progress()
        # "updated N s ago" must age even when no event arrives: that is how a stalled run shows.
        self.set_interval(1.0, self._show_figures)

    def render_progress(self) -> None:
        """Show the current state (or that the events written so far are being read)."""
        progress = self.progress
        model = Text.assemble(("Model: ", "bold"))
        bar = self.query_one(ProgressBar)
        if self.reading:
            model.append("reading the progress file…")
            self.query_one("#progress-model", Static).update(model)
            bar.update(total=1, progress=0)
            self.query_one("#progress-steps", Static).update("")
            self.query_one("#progress-figures", Static).update("")
            self._show_ending()
            return
        if progress.model is None:
            model.append("waiting for the first model to start")
        else:
            position = progress.position()
            if progress.label and position is not None:
                # The label first: in distributed mode every model has the same base.
                model.append(visible(position), style="bold").append(" · ")
            elif position is not None:
                model.append(f"{position}: ")
            model.append(visible(progress.model))
        self.query_one("#progress-model", Static).update(model)
        # Never indeterminate (an animation that never settles): before the first step, 0%.
        bar.update(
            total=progress.max_steps or 1, progress=progress.step if progress.max_steps else 0
        )
        if progress.max_steps:
            steps = f"Step {progress.step}/{progress.max_steps}"
        else:
            # The total comes with the first logged step: no "0/?" until then.
            steps = f"Step {progress.step}" if progress.step else "Waiting for the first step"
        if progress.epoch is not None:
            epochs = f"/{self.planned_epochs}" if self.planned_epochs else ""
            steps += f" · Epoch {progress.epoch:.2f}{epochs}"
        self.query_one("#progress-steps", Static).update(steps)
        self._show_figures()
        self._show_ending()

    def _show_ending(self) -> None:
        ending = self.progress.ending if not self.reading else None
        line = self.query_one("#progress-ending", Static)
        line.display = ending is not None
        if ending is None:
            return
        where = f"step {ending.step}" if ending.step is not None else "an unknown step"
        if ending.epoch is not None:
            where += f" (epoch {ending.epoch:g})"
        text = Text.assemble(("Ended: ", "bold"), visible(ending.message), f" at {where}")
        if ending.best_step is not None:
            best = f"step {ending.best_step}"
            if ending.best_epoch is not None:
                best += f" (epoch {ending.best_epoch:g})"
            text.append(f" · best model: {best}, macro F1 {format_metric(ending.best_f1)}")
        line.update(text)

    def _show_figures(self) -> None:
        if self.reading:
            return
        progress = self.progress
        figures = self.query_one("#progress-figures", Static)
        # A model whose training ended has no speed or ETA to show, and its loss is in the
        # curves: the row is the ending's (at 80x24 every row counts).
        figures.display = progress.ending is None
        parts = [f"Loss {format_metric(progress.loss, 4)}"]
        if progress.samples_per_second is not None:
            parts.append(f"{progress.samples_per_second:.1f} samples/s")
        if self.live:
            eta = progress.eta_seconds
            parts.append(f"ETA {format_duration(eta)}" if eta is not None else "ETA -")
            if progress.last_event_at is not None:
                age = (self.clock() - progress.last_event_at).total_seconds()
                parts.append(f"updated {format_duration(age)} ago")
        figures.update(" · ".join(parts))

"""The latest log lines of a run, following the end of the log until the user scrolls up.

A run opened late shows its last lines at once; the older ones are laid out only when the user
scrolls back to them (``write_backlog``), a page at a time.

Like toolong's tail: scrolling up stops following (new lines are counted, not scrolled to),
scrolling back to the bottom or ``End`` follows again. Lines are shown literally: a message from a
collaborator's progress file is never interpreted as markup, and its control characters are
escaped (Log only replaces some C0 controls; ESC would reach the terminal).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Log

from engine.progress import (
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelFinished,
    ModelStarted,
    ProgressEvent,
    StatusChanged,
    StepLogged,
    TrainingStopped,
)
from llmtool_tui.untrusted import visible
from llmtool_tui.widgets.evaluations_table import format_metric

#: Lines kept in memory; older ones are dropped (the full log stays in progress.jsonl).
MAX_LINES = 5_000
#: Lines of a backlog shown at once, and added above them each time the top is reached.
PAGE_LINES = 200


def event_line(event: ProgressEvent) -> str | None:
    """One log line for an event, escaped; None for training steps (the progress bar shows them).

    A message keeps its newlines (the log shows each line of it); every other control character
    in the event's strings (messages, models, paths) is escaped.
    """
    stamp = event.time.astimezone().strftime("%H:%M:%S")
    match event:
        case StepLogged():
            return None
        case LogLine(level=level, message=message):
            text = f"{level.upper():<7} {message}"
        case StatusChanged(status=status, message=message):
            text = f"status  {status}" + (f": {message}" if message else "")
        case ModelStarted(model=model, resumed_from=resumed_from):
            text = f"model   {event.position()} {model} started" + (
                f" (resumed from {resumed_from})" if resumed_from else ""
            )
        case EvaluationDone():
            text = (
                f"eval    step {event.step}: loss {format_metric(event.eval_loss, 4)},"
                f" macro F1 {format_metric(event.macro_f1)},"
                f" accuracy {format_metric(event.accuracy)}"
            )
        case CheckpointSaved(step=step, path=path):
            text = f"ckpt    step {step}: {path}"
        case TrainingStopped(model=model, message=message, step=step):
            text = f"ended   {model}: {message} at step {step if step is not None else '?'}"
            if event.best_step is not None:
                text += f", best model at step {event.best_step}"
        case ModelFinished(model=model, best_f1=best_f1):
            text = f"model   {model} finished, best macro F1 {format_metric(best_f1)}"
        case _:
            text = f"event   {event.event}"
    return visible(f"{stamp} {text}", multiline=True)


class LogView(Log):
    """A log that follows its end (``follow``) until the user scrolls up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Oldest line", show=False),
        Binding("end", "follow", "Follow log"),
    ]

    follow: reactive[bool] = reactive(True)
    """Whether new lines scroll the log to its end."""

    def __init__(self, *, id: str | None = None) -> None:
        # Scrolling is done here, once per batch: Log's own auto_scroll only scrolls when the
        # view was at the end before the write, which stops being true as soon as one batch
        # outgrows the view before its scrollbar is laid out.
        super().__init__(max_lines=MAX_LINES, auto_scroll=False, id=id)
        self.missed = 0
        """Lines written while not following."""
        self.older: list[str] = []
        """Lines of the backlog not laid out yet (above the first one shown)."""

    def write_backlog(self, events: Iterable[ProgressEvent]) -> None:
        """Show the last lines of ``events`` (what happened before the view opened); the others
        are laid out when the user scrolls back to them."""
        lines = [line for event in events if (line := event_line(event)) is not None]
        self.older = lines[-MAX_LINES:-PAGE_LINES]
        self.write_lines(lines[-PAGE_LINES:], scroll_end=False)
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _show_older(self, count: int = PAGE_LINES) -> None:
        # Log only appends: the page goes in front of the lines shown, which are written again.
        page, self.older = self.older[-count:], self.older[:-count]
        shown = list(self.lines)
        self.clear()
        self.write_lines([*page, *shown], scroll_end=False)
        self.scroll_to(y=len(page), animate=False, immediate=True, force=True)

    def write_events(self, events: Iterable[ProgressEvent]) -> None:
        """Append the lines of ``events`` (steps have none); scroll to them when following."""
        lines = [line for event in events if (line := event_line(event)) is not None]
        if not lines:
            return
        self.write_lines(lines, scroll_end=False)
        if self.follow:
            # Forced: the scrollbar that allows scrolling is only shown at the next layout.
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            self.missed += len(lines)
            self._show_missed()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.follow = self.is_vertical_scroll_end
        if new_value == 0 and new_value < old_value and self.older:
            self._show_older()

    def action_scroll_home(self) -> None:
        """Scroll to the oldest line kept (laying out the whole backlog first)."""
        if self.older:
            self._show_older(len(self.older))
        super().action_scroll_home()

    def on_resize(self) -> None:
        # Shrunk by its neighbours (the curves drawn for the first time, a smaller terminal):
        # the end stays in view while following.
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.missed = 0
        self._show_missed()

    def _show_missed(self) -> None:
        if self.follow:
            self.border_subtitle = ""
        elif self.missed:
            self.border_subtitle = f"+{self.missed} new lines · End to follow"
        else:
            self.border_subtitle = "paused · End to follow"

    def action_follow(self) -> None:
        """Scroll to the end and follow new lines again."""
        self.scroll_end(animate=False, immediate=True)
        self.follow = True

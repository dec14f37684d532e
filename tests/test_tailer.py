"""The progress tailer: from the start or the end, partial lines, truncation, replacement."""

from __future__ import annotations

import asyncio
import os
import statistics
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from engine.progress import (
    KEPT_PER_STRIDE,
    EvaluationDone,
    LogLine,
    ModelStarted,
    ProgressEvent,
    ProgressWriter,
    StatusChanged,
    StepLogged,
    StepThinning,
    summary_path,
)
from engine.tailer import tail_progress

WAIT_S = 10.0
POLL_S = 0.02


def step_line(step: int) -> bytes:
    return (StepLogged(step=step, max_steps=100).model_dump_json() + "\n").encode()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


class Tail:
    """Consumes a tail in a task; ``take(n)`` waits for the next n events."""

    def __init__(self, path: Path, *, from_start: bool = True) -> None:
        self.queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(path, from_start))

    async def _run(self, path: Path, from_start: bool) -> None:
        async for event in tail_progress(path, from_start=from_start, poll_interval=POLL_S):
            self.queue.put_nowait(event)

    async def take(self, count: int) -> list[ProgressEvent]:
        return [await asyncio.wait_for(self.queue.get(), WAIT_S) for _ in range(count)]

    async def nothing_more(self) -> None:
        """Several poll intervals pass without another event."""
        await asyncio.sleep(POLL_S * 5)
        assert self.queue.empty(), self.queue.get_nowait()


@asynccontextmanager
async def tailing(path: Path, *, from_start: bool = True) -> AsyncIterator[Tail]:
    tail = Tail(path, from_start=from_start)
    try:
        yield tail
    finally:
        tail.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await tail.task


def steps(events: list[ProgressEvent]) -> list[int]:
    return [event.step for event in events if isinstance(event, StepLogged)]


async def test_from_start_yields_existing_then_appended_events(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(step_line(1) + step_line(2))
    async with tailing(path) as tail:
        assert steps(await tail.take(2)) == [1, 2]
        writer = ProgressWriter(path)
        writer.write(StatusChanged(status="completed"))
        writer.close()
        [event] = await tail.take(1)
        assert isinstance(event, StatusChanged) and event.status == "completed"


async def test_from_end_skips_existing_events_but_finishes_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    line = step_line(3)
    path.write_bytes(step_line(1) + step_line(2) + line[:10])
    async with tailing(path, from_start=False) as tail:
        await tail.nothing_more()
        append(path, line[10:] + step_line(4))
        assert steps(await tail.take(2)) == [3, 4]


async def test_waits_for_the_file_to_exist(tmp_path: Path) -> None:
    path = tmp_path / "run" / "progress.jsonl"
    async with tailing(path, from_start=False) as tail:
        await tail.nothing_more()
        path.parent.mkdir()
        # Created after tailing started: all of it is new, even from the end.
        path.write_bytes(step_line(1))
        assert steps(await tail.take(1)) == [1]


async def test_partial_last_line_is_held_until_complete(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    line = step_line(7)
    path.write_bytes(line[:5])
    async with tailing(path) as tail:
        await tail.nothing_more()
        append(path, line[5:20])
        await tail.nothing_more()
        append(path, line[20:])
        assert steps(await tail.take(1)) == [7]


async def test_truncated_file_is_read_again_from_the_beginning(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(step_line(1) + step_line(2))
    async with tailing(path) as tail:
        assert steps(await tail.take(2)) == [1, 2]
        with path.open("r+b") as handle:
            handle.truncate(0)
        await tail.nothing_more()
        append(path, step_line(10))
        assert steps(await tail.take(1)) == [10]


async def test_replaced_file_is_read_from_its_beginning_after_the_old_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(step_line(1))
    async with tailing(path) as tail:
        assert steps(await tail.take(1)) == [1]
        replacement = tmp_path / "progress.jsonl.new"
        replacement.write_bytes(step_line(20) + step_line(21))
        # Appended just before the swap: still delivered, before the new file's events.
        append(path, step_line(2))
        os.replace(replacement, path)
        assert steps(await tail.take(3)) == [2, 20, 21]
        append(path, step_line(22))
        assert steps(await tail.take(1)) == [22]


async def test_partial_line_left_by_a_crash_does_not_swallow_the_next_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progress.jsonl"
    crashed = step_line(5)[:30]
    path.write_bytes(step_line(4) + crashed)
    async with tailing(path) as tail:
        assert steps(await tail.take(1)) == [4]
        # A resumed worker appends after the partial line, without a newline in between.
        append(path, step_line(6) + step_line(7))
        assert steps(await tail.take(2)) == [6, 7]


async def test_garbage_and_unknown_events_are_skipped_or_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(
        b"not json\n\n[1, 2]\n"
        + b'{"event": "step", "step": "many"}\n'
        + b'{"time": "2026-01-01T00:00:00Z", "event": "gpu_temperature", "celsius": 71}\n'
        + step_line(1)
    )
    async with tailing(path) as tail:
        unknown, step = await tail.take(2)
        await tail.nothing_more()
    assert type(unknown) is ProgressEvent and unknown.event == "gpu_temperature"
    assert steps([step]) == [1]


async def test_large_existing_file_is_read_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    count = 10_000  # about 1.3 MB: more than one read of READ_CHUNK
    path.write_bytes(b"".join(step_line(i) for i in range(count)))
    async with tailing(path) as tail:
        assert steps(await tail.take(count)) == list(range(count))


async def test_cancel_stops_cleanly_and_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(step_line(1))
    process = psutil.Process()

    def open_on_path() -> bool:
        return any(Path(f.path) == path for f in process.open_files())

    async with tailing(path) as tail:
        await tail.take(1)
        assert open_on_path()
    assert tail.task.cancelled()
    assert not open_on_path()


async def test_closing_the_iterator_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_bytes(step_line(1) + step_line(2))
    process = psutil.Process()
    async with aclosing(tail_progress(path, poll_interval=POLL_S)) as events:
        async for event in events:
            assert steps([event]) == [1]
            break
    assert not any(Path(f.path) == path for f in process.open_files())


async def test_caught_up_is_set_once_the_existing_events_are_read(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    # Over two read chunks: the first chunk's events are not all there is.
    path.write_bytes(b"".join(step_line(step) for step in range(10_000)))
    caught_up = asyncio.Event()
    seen = 0
    async with aclosing(tail_progress(path, poll_interval=POLL_S, caught_up=caught_up)) as tail:
        async for _ in tail:
            assert not caught_up.is_set(), f"set after {seen} of 10000 events"
            seen += 1
            if seen == 10_000:
                break
        # The next look finds nothing new.
        appended = asyncio.ensure_future(anext(tail))
        await asyncio.wait_for(caught_up.wait(), WAIT_S)
        append(path, step_line(10_000))
        event = await asyncio.wait_for(appended, WAIT_S)
        assert isinstance(event, StepLogged) and event.step == 10_000


async def test_caught_up_is_set_when_there_is_no_file_yet(tmp_path: Path) -> None:
    caught_up = asyncio.Event()
    tail = tail_progress(tmp_path / "progress.jsonl", poll_interval=POLL_S, caught_up=caught_up)
    pending = asyncio.ensure_future(anext(tail))
    await asyncio.wait_for(caught_up.wait(), WAIT_S)
    assert not pending.done()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await tail.aclose()


# -- from the present: the summary and the end of the log --------------------------------------


async def tail_until_caught_up(path: Path) -> list[ProgressEvent]:
    """The events a view gets before it shows the run (``caught_up``), read from the summary."""
    caught_up = asyncio.Event()
    events: list[ProgressEvent] = []

    async def run() -> None:
        async for event in tail_progress(
            path, poll_interval=POLL_S, caught_up=caught_up, summary=summary_path(path)
        ):
            events.append(event)

    task = asyncio.create_task(run())
    try:
        await asyncio.wait_for(caught_up.wait(), WAIT_S)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return events


def at(seconds: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


async def test_a_long_log_is_read_from_its_summary_and_its_end_never_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progress.jsonl"
    writer = ProgressWriter(path)
    writer.write(ModelStarted(time=at(0), model="m"))
    writer.write(StepLogged(time=at(1), step=1, max_steps=5000, loss=2.0))
    writer.write(EvaluationDone(time=at(2), model="m", step=1, macro_f1=0.5))
    # An event in the middle of the log that the summary lacks: read only if the log is.
    append(path, (LogLine(time=at(3), message="in the middle").model_dump_json() + "\n").encode())
    for step in range(2, 5001):
        writer.write(StepLogged(time=at(3 + step), step=step, max_steps=5000, loss=1.0))
    writer.write(LogLine(time=at(6000), message="the end"))
    writer.close()
    assert path.stat().st_size > 4 * (1 << 16)

    events = await tail_until_caught_up(path)

    messages = [event.message for event in events if isinstance(event, LogLine)]
    assert messages == ["the end"]
    steps = [event.step for event in events if isinstance(event, StepLogged)]
    # Thinned (most steps are not read), and the latest one is there, last.
    assert steps[-1] == 5000 and len(steps) < 1000
    assert steps == sorted(steps)
    assert [event.macro_f1 for event in events if isinstance(event, EvaluationDone)] == [0.5]


async def test_events_in_the_log_not_yet_in_the_summary_are_read_from_its_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progress.jsonl"
    writer = ProgressWriter(path)
    writer.write(ModelStarted(time=at(0), model="m"))
    writer.write(StepLogged(time=at(1), step=1, max_steps=10))
    writer.close()
    # The worker wrote this to the log and had not reached the summary yet.
    late = LogLine(time=at(2), message="written to the log first")
    append(path, (late.model_dump_json() + "\n").encode())

    events = await tail_until_caught_up(path)

    assert [event.event for event in events] == ["model_started", "step", "log"]
    assert events[-1] == late


async def test_a_log_without_a_summary_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    append(path, b"".join(step_line(step) for step in range(1, 51)))
    assert not summary_path(path).exists()

    events = await tail_until_caught_up(path)

    assert [event.step for event in events if isinstance(event, StepLogged)] == list(range(1, 51))


def test_the_summary_keeps_a_number_of_steps_that_grows_with_the_log_of_its_length() -> None:
    thinning = StepThinning()
    kept = [step for step in range(1, 1_000_001) if thinning.take(step, 1.0)[0]]
    assert kept[:3] == [1, 2, 3]
    assert len(kept) < KEPT_PER_STRIDE * 16
    # The loss kept is the mean of those since the step kept before (here, of the steps).
    thinning = StepThinning()
    previous = 0
    for step in range(1, 10 * KEPT_PER_STRIDE):
        kept_here, mean = thinning.take(step, float(step))
        if kept_here:
            assert mean == pytest.approx(statistics.mean(range(previous + 1, step + 1)))
            previous = step
    assert previous > 5 * KEPT_PER_STRIDE

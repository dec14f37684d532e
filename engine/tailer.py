"""Follow a session's ``progress.jsonl`` as it grows, as typed events.

The design is toolong's: remember the offset read so far, read only the bytes appended since,
and keep the bytes after the last newline in a buffer until their line is complete. The file is
polled (one stat every ``poll_interval`` seconds, 0.1 s by default) rather than watched with
watchfiles because polling alone covers every case the tailer must survive: a file that does not
exist yet, one replaced by another (a new inode), one truncated, and a network filesystem where
inotify sees nothing; a stat ten times a second costs nothing, and progress shown 0.1 s late is
not noticed. A watcher would need the same checks as a fallback, plus a thread per tailed file.

A run's log may hold millions of step events. Given the summary the worker keeps beside it
(``ProgressWriter``: every event but most steps), the tail starts at the present: it yields the
summary, then the events at the end of the log that the summary does not hold yet (the last step
at least), then follows; the log is never read whole.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path

import aiofiles
from aiofiles.threadpool.binary import AsyncBufferedReader

from engine.files import bounded_lines, open_regular, regular_opener
from engine.progress import MAX_LINE_BYTES, LogLine, ProgressEvent, StepLogged, parse_event

DEFAULT_POLL_INTERVAL_S = 0.1
#: Bytes read at most per read call, so that a large existing file is streamed, not slurped.
READ_CHUNK = 1 << 20
#: Where a tail from the end looks back for the start of the last complete line.
_LOOKBACK = 1 << 16
#: progress.jsonl is written by the worker as a regular file: a link planted in its place (to a
#: FIFO, a device, a file elsewhere) is never followed.
_OPENER = regular_opener(follow_symlinks=False)


def _parse_line(line: bytes) -> ProgressEvent | None:
    event = parse_event(line)
    if event is not None or not line.strip():
        return event
    # A worker killed mid-write leaves a partial line; the next run appends its first event to
    # it. That event is the leftmost complete JSON object starting inside the line (objects
    # nested in the partial one cannot parse: they run into the garbage that follows them).
    start = line.find(b'{"', 1)
    while start != -1:
        event = parse_event(line[start:])
        if event is not None:
            return event
        start = line.find(b'{"', start + 1)
    return None


class _Lines:
    """Splits appended bytes into complete lines, dropping any line over MAX_LINE_BYTES."""

    def __init__(self) -> None:
        self.pending = b""
        self.skipping = False
        """True while the rest of an over-long line is being discarded."""

    def events(self, data: bytes) -> list[ProgressEvent]:
        """The events of the lines that ``data`` completes."""
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        if self.skipping and lines:
            lines.pop(0)  # the end of the over-long line
            self.skipping = False
        if len(self.pending) > MAX_LINE_BYTES:
            self.pending, self.skipping = b"", True
        parsed = (_parse_line(line) for line in lines if len(line) <= MAX_LINE_BYTES)
        return [event for event in parsed if event is not None]


async def _end_of_last_line(handle: AsyncBufferedReader, size: int) -> int:
    """Offset just after the last newline before ``size`` (0 when there is none nearby)."""
    start = max(0, size - _LOOKBACK)
    await handle.seek(start)
    tail = await handle.read(size - start)
    newline = tail.rfind(b"\n")
    return start + newline + 1 if newline != -1 else start


def read_summary(summary: Path) -> list[ProgressEvent] | None:
    """The events of a run's summary; None when there is none to read (an older run's log,
    or something else than a regular file at its place)."""
    try:
        with open_regular(summary, follow_symlinks=False) as handle:
            parsed = (_parse_line(line) for line in bounded_lines(handle, MAX_LINE_BYTES))
            return [event for event in parsed if event is not None]
    except OSError:
        return None


def _mark(event: ProgressEvent) -> tuple[str, datetime]:
    """What tells an event of the summary in the log (a kept step's loss differs: a mean)."""
    moment = event.time
    # A time written without a zone by another tool: progress times are UTC.
    return event.event, moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _present(known: list[ProgressEvent], window: list[ProgressEvent]) -> list[ProgressEvent]:
    """The summary's events merged with those at the end of the log, in the log's order.

    The end of the log holds what the summary lacks: the steps left out since the last one
    kept (the latest step among them) and events written to the log and not yet to the summary.
    From the summary's last kept step on, the log's own lines are taken: all of them follow it
    there, in the order they happened. When that step is not in the window, the summary is
    taken whole, then what follows its last event in the window (all of it, if that event is
    not in the window).
    """
    marks = [_mark(event) for event in window]

    def last_in_window(event: ProgressEvent) -> int | None:
        mark = _mark(event)
        return len(marks) - 1 - marks[::-1].index(mark) if mark in marks else None

    steps = [index for index, event in enumerate(known) if isinstance(event, StepLogged)]
    if steps and (at := last_in_window(known[steps[-1]])) is not None:
        return [*known[: steps[-1]], *window[at:]]
    after = last_in_window(known[-1]) if known else None
    return [*known, *window[(after + 1 if after is not None else 0) :]]


async def _window_start(handle: AsyncBufferedReader, size: int) -> int:
    """Offset of the first line that starts within the last _LOOKBACK bytes before ``size``."""
    if size <= _LOOKBACK:
        return 0
    await handle.seek(size - _LOOKBACK - 1)
    head = await handle.read(_LOOKBACK)
    newline = head.find(b"\n")
    return size - _LOOKBACK + newline if newline != -1 else size


async def tail_progress(
    path: Path,
    *,
    from_start: bool = True,
    poll_interval: float = DEFAULT_POLL_INTERVAL_S,
    caught_up: asyncio.Event | None = None,
    summary: Path | None = None,
) -> AsyncGenerator[ProgressEvent, None]:
    """Yield the events of a progress.jsonl file, then each one appended, until cancelled.

    Args:
        path: the progress.jsonl file; it may not exist yet.
        from_start: yield the events already in the file; with False, only the ones appended
            after the call (a file created later, or replacing this one, is read whole).
        poll_interval: seconds between two looks at the file when nothing new was found.
        caught_up: set once every event already in the file has been yielded (or there is no
            file yet): a view can then show the run as it stands, not the steps it went through.
        summary: the run's summary (see the module docstring); with ``from_start``, the events
            already written are taken from it and from the log's end, not from the whole log.
            When it cannot be read, the log is read whole.

    Unparsable lines, and lines over MAX_LINE_BYTES, are skipped. A file that shrinks
    (truncated) or changes inode (replaced) is read again from its beginning. The file is
    untrusted: a FIFO, device, socket or symbolic link at ``path`` is never opened (nor
    followed); a warning event says so once, and the tail waits for a regular file to replace
    it. Close the iterator (``contextlib.aclosing``) or cancel the task consuming it to stop;
    the file is closed either way.
    """
    handle: AsyncBufferedReader | None = None
    identity: tuple[int, int] | None = None
    refused: tuple[int, int] | None = None
    offset = 0
    lines = _Lines()
    skip_existing = not from_start
    # Read before the log is looked at: the worker writes each event to the log first, so
    # every event of the summary read now is in the log that is opened next.
    known = (
        await asyncio.to_thread(read_summary, summary)
        if from_start and summary is not None
        else None
    )
    try:
        while True:
            try:
                st = await asyncio.to_thread(os.lstat, path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_dev, st.st_ino) not in (identity, refused):
                if handle is not None:
                    # Replaced: finish the old file (bytes appended before the swap), then
                    # start the new one from its beginning.
                    await handle.seek(offset)
                    for event in lines.events(await handle.read()):
                        yield event
                    await handle.close()
                    handle, identity = None, None
                try:
                    handle = await aiofiles.open(path, "rb", opener=_OPENER)
                except FileNotFoundError:
                    await asyncio.sleep(poll_interval)
                    continue
                except OSError as exc:
                    # Said once per file: a different file at this path later is tried again.
                    refused = (st.st_dev, st.st_ino)
                    yield LogLine(
                        level="warning",
                        message=f"{path.name} {exc}; progress is not read from it",
                    )
                    await asyncio.sleep(poll_interval)
                    continue
                # Identity of what was opened, which a rename may have swapped since the stat.
                opened = os.fstat(handle.fileno())
                identity = (opened.st_dev, opened.st_ino)
                offset, lines = 0, _Lines()
                if skip_existing:
                    offset = await _end_of_last_line(handle, opened.st_size)
                elif known is not None:
                    offset = await _window_start(handle, opened.st_size)
                    await handle.seek(offset)
                    data = await handle.read(opened.st_size - offset)
                    offset += len(data)
                    for event in _present(known, lines.events(data)):
                        yield event
            # Only the file that existed when tailing started is skipped (or read from its
            # summary); any later one is new.
            skip_existing, known = False, None
            grew = False
            if handle is not None:
                size = os.fstat(handle.fileno()).st_size
                if size < offset:
                    # Truncated in place: everything in it now is new.
                    offset, lines = 0, _Lines()
                if size > offset:
                    grew = True
                    await handle.seek(offset)
                    data = await handle.read(min(size - offset, READ_CHUNK))
                    offset += len(data)
                    for event in lines.events(data):
                        yield event
            if not grew:
                if caught_up is not None:
                    caught_up.set()
                await asyncio.sleep(poll_interval)
    finally:
        if handle is not None:
            await handle.close()

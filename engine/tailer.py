"""Follow a session's ``progress.jsonl`` as it grows, as typed events.

The design is toolong's: remember the offset read so far, read only the bytes appended since,
and keep the bytes after the last newline in a buffer until their line is complete. The file is
polled (one stat every ``poll_interval`` seconds, 0.1 s by default) rather than watched with
watchfiles because polling alone covers every case the tailer must survive: a file that does not
exist yet, one replaced by another (a new inode), one truncated, and a network filesystem where
inotify sees nothing; a stat ten times a second costs nothing, and progress shown 0.1 s late is
not noticed. A watcher would need the same checks as a fallback, plus a thread per tailed file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from pathlib import Path

import aiofiles
import aiofiles.os
from aiofiles.threadpool.binary import AsyncBufferedReader

from engine.progress import ProgressEvent, parse_event

DEFAULT_POLL_INTERVAL_S = 0.1
#: Bytes read at most per read call, so that a large existing file is streamed, not slurped.
READ_CHUNK = 1 << 20
#: Where a tail from the end looks back for the start of the last complete line.
_LOOKBACK = 1 << 16


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


async def _end_of_last_line(handle: AsyncBufferedReader, size: int) -> int:
    """Offset just after the last newline before ``size`` (0 when there is none nearby)."""
    start = max(0, size - _LOOKBACK)
    await handle.seek(start)
    tail = await handle.read(size - start)
    newline = tail.rfind(b"\n")
    return start + newline + 1 if newline != -1 else start


async def tail_progress(
    path: Path, *, from_start: bool = True, poll_interval: float = DEFAULT_POLL_INTERVAL_S
) -> AsyncGenerator[ProgressEvent, None]:
    """Yield the events of a progress.jsonl file, then each one appended, until cancelled.

    Args:
        path: the progress.jsonl file; it may not exist yet.
        from_start: yield the events already in the file; with False, only the ones appended
            after the call (a file created later, or replacing this one, is read whole).
        poll_interval: seconds between two looks at the file when nothing new was found.

    Unparsable lines are skipped. A file that shrinks (truncated) or changes inode (replaced) is
    read again from its beginning. Close the iterator (``contextlib.aclosing``) or cancel the
    task consuming it to stop; the file is closed either way.
    """
    handle: AsyncBufferedReader | None = None
    identity: tuple[int, int] | None = None
    offset = 0
    pending = b""
    skip_existing = not from_start
    try:
        while True:
            try:
                st = await aiofiles.os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_dev, st.st_ino) != identity:
                if handle is not None:
                    # Replaced: finish the old file (bytes appended before the swap), then
                    # start the new one from its beginning.
                    async for event in _drain(handle, offset, pending):
                        yield event
                    await handle.close()
                    handle = None
                try:
                    handle = await aiofiles.open(path, "rb")
                except FileNotFoundError:
                    await asyncio.sleep(poll_interval)
                    continue
                # Identity of what was opened, which a rename may have swapped since the stat.
                opened = os.fstat(handle.fileno())
                identity = (opened.st_dev, opened.st_ino)
                offset, pending = 0, b""
                if skip_existing:
                    offset = await _end_of_last_line(handle, opened.st_size)
            # Only the file that existed when tailing started is skipped; any later one is new.
            skip_existing = False
            grew = False
            if handle is not None:
                size = os.fstat(handle.fileno()).st_size
                if size < offset:
                    # Truncated in place: everything in it now is new.
                    offset, pending = 0, b""
                if size > offset:
                    grew = True
                    await handle.seek(offset)
                    data = await handle.read(min(size - offset, READ_CHUNK))
                    offset += len(data)
                    lines = (pending + data).split(b"\n")
                    pending = lines.pop()
                    for line in lines:
                        parsed = _parse_line(line)
                        if parsed is not None:
                            yield parsed
            if not grew:
                await asyncio.sleep(poll_interval)
    finally:
        if handle is not None:
            await handle.close()


async def _drain(
    handle: AsyncBufferedReader, offset: int, pending: bytes
) -> AsyncGenerator[ProgressEvent, None]:
    """The complete lines a file holds after ``offset``."""
    await handle.seek(offset)
    data = pending + await handle.read()
    for line in data.split(b"\n")[:-1]:
        event = _parse_line(line)
        if event is not None:
            yield event

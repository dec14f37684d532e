"""Watch ``logs/training_sessions/`` and report which sessions were added, changed or removed.

Built on ``watchfiles.awatch`` (inotify, or polling for network filesystems where inotify sees
nothing). Events only say which paths to look at: what is reported is decided by comparing each
path's current stat values with the ones last reported, so an atomic replace (the store's temp
file renamed over the target) is one ``changed`` session, the store's hidden temp files are never
seen, and duplicate or coalesced events cost nothing. Rows are kept in a ``SessionCache`` keyed by
path and (mtime, size, inode): one changed file costs one stat and one parse, whatever the number
of files in the directory, and the row it reports is the one the history shows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import Change, awatch

from engine.errors import BadInputError
from engine.rows import SessionRow, StatKey
from engine.store import SessionCache, is_session_candidate, scan_keys

#: Milliseconds watchfiles waits between checks for new events. An event is yielded after the
#: first check that finds no newer one, so the latency is between one and two steps: 20 ms gives
#: 20-40 ms (watchfiles' default, 50 ms, gives 50-100 ms, too close to the 100 ms target).
DEFAULT_STEP_MS = 20
#: Longest time a continuous stream of events is grouped before it is yielded anyway
#: (watchfiles' default of 1,600 ms would hold a burst back for more than a second).
DEFAULT_DEBOUNCE_MS = 100
#: Interval of ``--poll`` mode, where every file is stat'ed at each round.
DEFAULT_POLL_INTERVAL_MS = 500
#: How often the watch wakes up with no event, to check that the directory itself was not
#: deleted or replaced (its inotify watch would then be dead).
DIRECTORY_CHECK_MS = 1_000


@dataclass
class SessionChanges:
    """One batch of changes, each path at most once."""

    added: list[SessionRow] = field(default_factory=list)
    """Rows of files that appeared (validated)."""
    changed: list[SessionRow] = field(default_factory=list)
    """Rows of files whose content or identity changed (validated)."""
    removed: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def merge(self, later: SessionChanges) -> None:
        """Add a later batch of other paths to this one."""
        self.added.extend(later.added)
        self.changed.extend(later.changed)
        self.removed.extend(later.removed)


def _directory_identity(directory: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class SessionWatcher:
    """Async stream of the changes of one sessions directory.

    Args:
        sessions_dir: ``logs/training_sessions`` of a workspace; created when missing (a fresh
            workspace), as long as the workspace itself exists.
        poll: stat every file every ``poll_interval_ms`` instead of using inotify, for network
            filesystems (NFS, SMB, sshfs) where another machine's writes raise no inotify event.
        poll_interval_ms: the polling interval of ``poll`` mode.
        debounce_ms: longest time a continuous stream of events is grouped into one batch.
        step_ms: quiet time after an event before its batch is yielded.
        cache: the parsed-file cache, shared with whoever lists the directory.
        baseline: stat values of the files by path (a listing's), taken as what was last
            reported instead of a scan when watching starts: changes since are reported.
    """

    def __init__(
        self,
        sessions_dir: Path,
        *,
        poll: bool = False,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        step_ms: int = DEFAULT_STEP_MS,
        cache: SessionCache | None = None,
        baseline: dict[str, StatKey] | None = None,
    ) -> None:
        # Absolute, as both watchfiles and scandir report paths joined to it: they must match.
        self.sessions_dir = Path(sessions_dir).absolute()
        self.poll = poll
        self.poll_interval_ms = poll_interval_ms
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.cache = cache if cache is not None else SessionCache()
        self._baseline = baseline
        self._reported: dict[str, StatKey] = {}
        self._directory_text = str(self.sessions_dir)
        self.started = asyncio.Event()
        """Set once the baseline is taken: any later change of the directory is reported."""
        self.synced = asyncio.Event()
        """Set once the watch is established and what changed before it was looked for: from
        then on every batch is an event of the directory."""

    def _prepare(self) -> tuple[int, int] | None:
        workspace_root = self.sessions_dir.parent.parent
        if not workspace_root.is_dir():
            raise BadInputError(
                f"workspace {workspace_root} does not exist; create it or pass an existing"
                " --workspace"
            )
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        return _directory_identity(self.sessions_dir)

    def _is_watched(self, change: Change, path: str) -> bool:
        """A session file's event, or the directory's own (see ``_batch``)."""
        return path == self._directory_text or is_session_candidate(os.path.basename(path))

    def _batch(self, paths: list[str]) -> SessionChanges:
        """The changes behind one batch of events.

        In ``--poll`` mode a file is looked at only when its mtime changes, and a note or tag
        saved keeps the file's mtime (engine.store): its replacement shows only as an event
        of the directory, whose mtime every rename changes. The directory is then scanned and
        each file's stat values (inode and ctime included) compared with those reported.
        """
        if self._directory_text in paths:
            return self._resync()
        return self._report(paths)

    def _report(self, paths: Iterable[str]) -> SessionChanges:
        """Compare the current state of ``paths`` with what was last reported."""
        batch = SessionChanges()
        for name in sorted(set(paths)):
            path = Path(name)
            # With its document: a running row's live status needs it, and only changed files
            # come here.
            row = self.cache.get(path, metadata=True)
            previous = self._reported.get(name)
            if row is None:
                if previous is not None:
                    del self._reported[name]
                    batch.removed.append(path)
                continue
            if previous is None:
                batch.added.append(row)
            elif previous != row.stat:
                batch.changed.append(row)
            self._reported[name] = row.stat
        return batch

    def _resync(self) -> SessionChanges:
        """Report what changed while no watch was established (at start, after a restart)."""
        current = scan_keys(self.sessions_dir)
        differing = [path for path, key in current.items() if self._reported.get(path) != key]
        gone = [path for path in self._reported if path not in current]
        return self._report([*differing, *gone])

    def _start_state(self) -> tuple[int, int] | None:
        identity = self._prepare()
        if self._baseline is not None:
            # A listing's stat values: what changed since is found by the first resync, and
            # the directory is not scanned twice. Its paths are re-joined to this (absolute)
            # directory, as a listing may have used a relative one.
            self._reported = {
                os.path.join(self.sessions_dir, os.path.basename(path)): key
                for path, key in self._baseline.items()
            }
            return identity
        # What is present now is the baseline, not a change: the caller lists it (store.list).
        # Only stat values are taken, so a directory of 10,000 files costs no parse here.
        self._reported = scan_keys(self.sessions_dir)
        return identity

    async def changes(
        self, stop_event: asyncio.Event | None = None
    ) -> AsyncGenerator[SessionChanges, None]:
        """Yield each batch of changes after watching starts, until ``stop_event`` or cancel.

        Files present when watching starts are not reported: list them with
        ``SessionStore.list``; with a ``baseline``, what differs from it is
        reported in the first batch. Empty batches are never yielded.

        Raises:
            BadInputError: the workspace does not exist.
        """
        identity = await asyncio.to_thread(self._start_state)
        self.started.set()
        while True:
            # The first wake-up (an event or the first timeout) happens once inotify watches
            # the directory; a resync then catches what changed between the scan and the watch.
            resync_pending = True
            stream = awatch(
                self.sessions_dir,
                watch_filter=self._is_watched,
                debounce=self.debounce_ms,
                step=self.step_ms,
                rust_timeout=DIRECTORY_CHECK_MS,
                yield_on_timeout=True,
                stop_event=stop_event,
                force_polling=self.poll,
                poll_delay_ms=self.poll_interval_ms,
                recursive=False,
            )
            restart = False
            async with aclosing(stream):
                async for raw in stream:
                    batch = await asyncio.to_thread(self._batch, [path for _, path in raw])
                    if resync_pending:
                        resync_pending = False
                        batch.merge(await asyncio.to_thread(self._resync))
                        self.synced.set()
                    elif not raw:
                        # The directory was deleted or replaced: its inotify watch is dead.
                        now = await asyncio.to_thread(_directory_identity, self.sessions_dir)
                        if now != identity:
                            restart = True
                            identity = await asyncio.to_thread(self._prepare)
                            batch.merge(await asyncio.to_thread(self._resync))
                    if batch:
                        yield batch
                    if restart:
                        break
            if not restart:
                return

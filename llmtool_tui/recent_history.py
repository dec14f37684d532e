"""The last listing of the most recent sessions, kept to show at once when the history opens.

The app reads it ahead, in the background after its first paint, and each history screen keeps
it up to date with the default listing it fetches. A screen shows it in its first frame (or as
soon as the read-ahead under way ends) and fetches a fresh listing right after: the copy may be
minutes old, and a run that died since is only seen as ``interrupted`` by a new listing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.facade import Engine, History


class RecentHistory:
    """The latest default listing (the DEFAULT_LIMIT most recent sessions, no search)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.history: History | None = None
        """The latest listing, or None before the first one."""
        self._read_ahead_done: asyncio.Event | None = None

    async def read_ahead(self) -> None:
        """List the history now, in a thread (the app runs this in a worker)."""
        done = self._read_ahead_done = asyncio.Event()
        try:
            self.history = await self.engine.arun(self.engine.history)
        finally:
            done.set()

    async def latest(self) -> History | None:
        """The latest listing, once the read-ahead under way (if any) has ended."""
        if self.history is None and self._read_ahead_done is not None:
            await self._read_ahead_done.wait()
        return self.history

"""The history's default window, the 20 newest session files, kept current for every screen.

The app owns one: right after its first frame it lists the window without validation (no
pydantic yet: a key typed at once finds the rows), or takes it from the child process that
the command line forked to list it while the app was starting (``Engine.list_in_background``);
then validates it and looks at the processes of running rows, then follows the watcher,
applying each batch of changes by key (``Engine.updated``): a changed file costs a read of
that file, whatever the number of files.
A worker that dies changes no file: the running rows are looked at again every few seconds.
Each new window is published on ``changed``; the history screen shows it as it comes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.signal import Signal

from engine.store import DEFAULT_LIMIT

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from engine.facade import Engine
    from engine.first_listing import FirstListing
    from engine.history import History
    from engine.watcher import SessionChanges

#: Seconds between two looks at the processes of the running rows.
RECHECK_INTERVAL_S = 2.0


class LiveHistory:
    """The default window of the history (the DEFAULT_LIMIT newest files), as it is now."""

    def __init__(
        self, owner: DOMNode, engine: Engine, first_listing: FirstListing | None = None
    ) -> None:
        self.engine = engine
        self._first_listing = first_listing
        """The window being listed by a child process since the app's start, if one is."""
        self.history: History | None = None
        """The window; None until the first listing."""
        self.changed: Signal[History] = Signal(owner, "history_changed")
        """Published with each new window."""

    @property
    def listing_in_background(self) -> bool:
        """Whether a child process is listing the first window (``Engine.list_in_background``)."""
        return self._first_listing is not None

    def _publish(self, history: History) -> None:
        self.history = history
        self.changed.publish(history)

    async def list_and_follow(self, sessions_changed: Signal[SessionChanges] | None = None) -> None:
        """List, validate, then (with ``sessions_changed``) apply and publish every change.

        Runs until cancelled; the app runs it in a worker. Raises what the watcher raises (the
        workspace vanished): the app reports it.
        """
        engine = self.engine
        first, self._first_listing = self._first_listing, None
        listed = await asyncio.to_thread(first.listed) if first is not None else None
        if listed is None:
            listed = await asyncio.to_thread(engine.history, DEFAULT_LIMIT, validate=False)
        self._publish(listed)
        checked = await asyncio.to_thread(first.checked, listed) if first is not None else None
        if checked is None:
            checked = await asyncio.to_thread(engine.checked, listed)
        self._publish(checked)
        if sessions_changed is None:
            return
        async for changes in engine.watch(since=listed):
            assert self.history is not None
            self._publish(await asyncio.to_thread(engine.updated, self.history, changes))
            sessions_changed.publish(changes)

    async def recheck(self) -> None:
        """Look at the processes of the running rows again; publish if a status changed."""
        history = self.history
        if history is None or not any(row.needs_liveness for row in history.rows):
            return
        rechecked = await asyncio.to_thread(self.engine.rechecked, history)
        # Meanwhile a batch of changes may have made a newer window: that one stands.
        if rechecked is not history and self.history is history:
            self._publish(rechecked)

    async def relist(self) -> None:
        """List the window again (after an import or a cleanup, when no watcher runs)."""
        self._publish(await asyncio.to_thread(self.engine.history, DEFAULT_LIMIT))

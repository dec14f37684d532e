"""The app's first listing, made by a forked process while the app imports its interface.

Opening the app on a large workspace, the history's rows waited for a listing (a stat of every
session file) that could only start once the menu was painted, in a thread that the interface
starved of the interpreter lock, and then for their validation, which imports pydantic.
Forked before the interface is imported, a child process lists and validates on another CPU
meanwhile and hands the window over a pipe: the rows are there when the history opens. A
child that fails hands nothing, and the app lists in a thread as before.

Only the standard library offers this (``multiprocessing`` would import itself and start its
resource tracker in the app, which is what the fork is there to spare): written by hand.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from engine.history import History
from engine.rows import SessionRow
from engine.store import DEFAULT_LIMIT

if TYPE_CHECKING:
    from engine.facade import Engine

#: How much lower the child's priority is than the app's.
CHILD_NICENESS = 10
#: The length before each message.
_LENGTH = struct.Struct("<Q")


class FirstListing:
    """The default window listed by a child process: as listed, then validated and live.

    The child writes two messages on the pipe, each a length and a pickle: the window listed
    without validation (the rows to paint first), then its rows validated and with their live
    status (``Engine.checked``). The app neither validates them nor imports pydantic for them.
    """

    def __init__(self, pid: int, pipe: int) -> None:
        self._pid = pid
        self._reader: BinaryIO | None = os.fdopen(pipe, "rb")

    @classmethod
    def start(cls, engine: Engine) -> FirstListing | None:
        """Fork the child that lists ``engine``'s window; None where that cannot be done.

        Call it before any thread is started: a fork copies only the calling thread, and a
        lock held by another one at that moment would stay held in the child.
        """
        if not sys.platform.startswith("linux") or threading.active_count() > 1:
            return None
        try:
            reading, writing = os.pipe()
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:  # pragma: no cover - the child's code ends with os._exit, unseen by coverage
            os.close(reading)
            _list_and_exit(engine, writing)
        os.close(writing)
        return cls(pid, reading)

    def listed(self) -> History | None:
        """The window as listed, without validation (blocks until the child sends it); None
        if the child failed."""
        history = self._receive()
        if isinstance(history, History):
            return history
        self.close()
        return None

    def checked(self, listed: History) -> History | None:
        """``listed`` with the rows the child validated (blocks until it sends them); None if
        it failed. Waits for the child's end."""
        rows = self._receive()
        self.close()
        if isinstance(rows, list) and all(isinstance(row, SessionRow) for row in rows):
            return replace(listed, rows=rows)
        return None

    def _receive(self) -> object:
        if self._reader is None:
            return None
        header = self._reader.read(_LENGTH.size)
        if len(header) != _LENGTH.size:
            return None
        (length,) = _LENGTH.unpack(header)
        data = self._reader.read(length)
        if len(data) != length:
            return None
        try:
            # Our own child's bytes, through a pipe no other process holds: not a file of the
            # workspace, so unpickling them trusts nothing that a user or a collaborator wrote.
            return pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return None

    def close(self) -> None:
        """Take nothing more; the child is reaped (it ends on the broken pipe if not done)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            with contextlib.suppress(ChildProcessError):  # reaped by someone else already
                os.waitpid(self._pid, 0)


def _send(pipe: BinaryIO, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)))
    pipe.write(data)
    pipe.flush()


def _list_and_exit(engine: Engine, writing: int) -> NoReturn:
    """The child: list, send, validate, send, and exit without the parent's clean-up."""
    code = 1
    try:
        # Never the terminal: the app is drawing on it.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # Second to the app: where the CPUs are busy, painting the menu comes first.
        os.nice(CHILD_NICENESS)
        with os.fdopen(writing, "wb") as pipe:
            listed = engine.history(DEFAULT_LIMIT, validate=False)
            _send(pipe, listed)
            _send(pipe, engine.checked(listed).rows)
        code = 0
    finally:
        # os._exit: the parent's atexit handlers and buffers are the parent's, not ours.
        os._exit(code)

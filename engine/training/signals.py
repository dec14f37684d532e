"""The stop request a worker's SIGTERM/SIGINT handlers set and its training loop honours.

Kept apart from the torch-dependent modules so that the handlers are installed before the
worker spends seconds importing transformers.
"""

from __future__ import annotations

import os
import sys


class StopRequest:
    """Set by the signal handlers; read at the end of each training step and between models."""

    def __init__(self) -> None:
        self._requested = False
        self.signal_name: str | None = None
        self._launcher: tuple[int, int] | None = None

    def request(self, signal_name: str) -> None:
        """Record a stop request (the first signal's name is kept for the status message)."""
        self._requested = True
        self.signal_name = self.signal_name or signal_name

    def follow_launcher(self, rank: int) -> None:
        """Ask to stop once this rank's parent, its torchrun agent, has gone.

        torchrun starts its ranks in their own sessions: a killed agent (a lost SSH session, a
        node's job step cancelled) leaves them running, out of reach of ``stop`` and training
        with the other nodes as if nothing happened. Checked where the request is read (each
        step), not by a polling thread: the rank that lost its agent asks at its very next
        step, and the ranks agree on it there, so the session ends interrupted with a checkpoint
        that a resume on every node continues from.
        """
        self._launcher = (os.getppid(), rank)

    @property
    def requested(self) -> bool:
        """Whether training must stop at the next safe point."""
        if not self._requested and self._launcher is not None:
            launcher, rank = self._launcher
            if os.getppid() != launcher:
                print(
                    f"worker rank {rank}: its launcher (pid {launcher}) ended;"
                    " stopping every rank at the next step",
                    file=sys.stderr,
                    flush=True,
                )
                self.request(f"the end of rank {rank}'s launcher")
        return self._requested

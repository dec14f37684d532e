"""The stop request a worker's SIGTERM/SIGINT handlers set and its training loop honours.

Kept apart from the torch-dependent modules so that the handlers are installed before the
worker spends seconds importing transformers.
"""

from __future__ import annotations


class StopRequest:
    """Set by the signal handlers; read at the end of each training step and between models."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None

    def request(self, signal_name: str) -> None:
        """Record a stop request (the first signal's name is kept for the status message)."""
        self.requested = True
        self.signal_name = self.signal_name or signal_name

"""Calls that must finish: a hang fails the test that made it, not the whole suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
#: Seconds a call may take: reading a small bad file takes milliseconds, a hang takes forever.
DEADLINE_S = 20.0


def finishes(call: Callable[[], T], what: str, deadline_s: float = DEADLINE_S) -> T:
    """``call()``'s result (or exception), failing the test when it is still running at the
    deadline: a blocked open() cannot be interrupted, so the thread is left behind, daemonic."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"must finish: {what}", daemon=True)
    thread.start()
    thread.join(timeout=deadline_s)
    if thread.is_alive():
        pytest.fail(f"{what} still running after {deadline_s:.0f} s: it blocks or reads forever")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

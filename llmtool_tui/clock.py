"""The clock the app reads for ages and ETAs: the real one, or a frozen one in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    """The real clock (tests and screenshots inject a frozen one)."""
    return datetime.now(UTC)

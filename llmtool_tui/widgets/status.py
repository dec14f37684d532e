"""A session's status as a symbol, a word and a colour: status is never shown by colour alone."""

from __future__ import annotations

from rich.text import Text

from engine.history import status_label
from engine.rows import UNREADABLE

#: Colours of the statuses: the specification's green, red and yellow, plus running and
#: interrupted. Bright and bold, unlike the CLI's: plain red and magenta are hard to read on the
#: app's dark background.
STATUS_STYLES = {
    "completed": "bold bright_green",
    "failed": "bold bright_red",
    "pending": "bold bright_yellow",
    "running": "bold bright_cyan",
    "starting": "bold bright_cyan",
    "interrupted": "bold bright_magenta",
    "stale": "bold",
}

#: Order of the Status column when the history is sorted by it: what needs attention first.
STATUS_ORDER = (
    "running",
    "starting",
    "stale",
    "pending",
    "interrupted",
    "failed",
    "completed",
    UNREADABLE,
)


def status_text(status: str, *, color: bool = True, detail: str = "") -> Text:
    """``✓ completed`` in green and so on.

    Args:
        status: the status to show.
        color: False under NO_COLOR (``App.no_color``): the greys Textual turns colours into
            leave red on a dark background unreadable, so only bold is kept.
        detail: appended after the status (a running session's progress).
    """
    if status == UNREADABLE:
        label, style = "✗ unreadable", STATUS_STYLES["failed"]
    else:
        label, style = status_label(status), STATUS_STYLES.get(status, "")
    if detail:
        label = f"{label} {detail}"
    return Text(label, style=style if color else "bold", no_wrap=True, overflow="ellipsis", end="")


def status_rank(status: str) -> int:
    """Position of a status in STATUS_ORDER (unknown statuses last)."""
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)

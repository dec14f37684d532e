"""Aligned ``key  value`` rows, the way the wizard lists what it found and what it will save."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text

from llmtool_tui.untrusted import literal


def facts_table(rows: Iterable[tuple[str, str]], *, key_width: int) -> Table:
    """One row per (key, value): keys in bold in a fixed-width column, values wrapped beside it.

    Values are user data (file names, labels, column names): they go in as Text, never markup,
    their control characters escaped.
    """
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", width=key_width, no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(Text(key), literal(value))
    return table

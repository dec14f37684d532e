"""Whether the first row of a CSV/TSV file names its columns, or is the first example.

Public corpora often come without a header (GoEmotions' TSV, SMS Spam, many ``.txt`` exports):
pandas would then take the first example for column names and lose it. Nothing in a file says
which it is, so the first row is compared with the rows below it, column by column, and each
comparison votes:

- a column of numbers headed by a word: a header; headed by a number: data;
- a column of a few repeated values (classes) whose first cell is one of them, or one of the
  parts of them (``27`` in a column of ``2,27``): data; a first cell that is none: a header;
- a column of texts headed by a short name: a header; headed by a sentence like the others: data;
- a first row that repeats a cell: data (column names are distinct);
- ``csv.Sniffer.has_header``, which compares types and lengths, as one more voice.

The votes are summed; a tie keeps the first row as the header, as every reader does by default.
The strongest vote for the decision is its reason, shown by the analysis. ``--header`` and
``--no-header`` decide instead (``ReadOptions.header``).
"""

from __future__ import annotations

import csv
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

#: A class set has at most this many values, repeated (the rows of the sample at most halve).
MAX_CLASS_VALUES = 1000
#: Lines of the sample given to csv.Sniffer (it compares each with the first).
SNIFFER_LINES = 20
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
#: Separators of labels inside one cell, to find a first cell among the parts of the others.
_LABEL_PARTS = re.compile(r"[,;|_+ ]")
_SHOWN_CHARS = 30


@dataclass(frozen=True)
class HeaderDecision:
    header: bool
    reason: str


@dataclass(frozen=True)
class _Vote:
    weight: int
    """Positive for a header, negative for data."""
    reason: str


def headerless_names(count: int) -> list[str]:
    """The column names of a file without a header: ``column_1``, ``column_2``..."""
    return [f"column_{position}" for position in range(1, count + 1)]


def decide_header(rows: list[list[object]], sample: str) -> HeaderDecision:
    """Whether ``rows[0]`` is a header, from ``rows`` (the first rows, cells as text or None)
    and ``sample`` (the same lines as text)."""
    cells = [[_cell(value) for value in row] for row in rows]
    if len(cells) < 2:
        return HeaderDecision(True, "the file has one row")
    votes = [vote for column in range(len(cells[0])) if (vote := _column_vote(cells, column))]
    first = [cell for cell in cells[0] if cell]
    if len(set(first)) < len(first):
        votes.append(_Vote(-1, "the first row repeats a cell, as column names never do"))
    sniffed = _sniffer_vote(sample)
    if sniffed is not None:
        votes.append(sniffed)
    total = sum(vote.weight for vote in votes)
    header = total >= 0
    deciding = [vote for vote in votes if (vote.weight > 0) == header and vote.weight != 0]
    if not deciding:
        return HeaderDecision(True, "nothing tells the first row from the others")
    return HeaderDecision(header, max(deciding, key=lambda vote: abs(vote.weight)).reason)


def _cell(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…")


def _column_vote(cells: list[list[str]], column: int) -> _Vote | None:
    first = cells[0][column]
    rest = [row[column] for row in cells[1:] if column < len(row) and row[column]]
    if not first or not rest:
        return None
    where = f"column {column + 1}"
    if _share(rest, lambda value: bool(_NUMBER.match(value))) >= 0.9:
        if _NUMBER.match(first):
            return _Vote(-2, f"{_shown(first)} is a number, like the rest of {where}")
        return _Vote(2, f"{_shown(first)} heads {where}, a column of numbers")
    distinct = set(rest)
    if len(rest) >= 4 and len(distinct) <= min(MAX_CLASS_VALUES, len(rest) // 2):
        if first in distinct:
            return _Vote(-4, f"{_shown(first)} is one of the values of {where}")
        parts = {part for value in distinct for part in _LABEL_PARTS.split(value) if part}
        if len(parts) < len(distinct) and first in parts:
            return _Vote(-2, f"{_shown(first)} is one of the labels in {where}")
        return _Vote(1, f"{_shown(first)} is none of the values of {where}")
    if _share(rest, lambda value: " " in value) >= 0.5:
        typical = statistics.median(len(value) for value in rest)
        if len(first.split()) >= 4 or len(first) >= typical / 2:
            return _Vote(-2, f"{_shown(first)} is a text like the others of {where}")
        return _Vote(2, f"{_shown(first)} is a short name above the texts of {where}")
    return None


def _sniffer_vote(sample: str) -> _Vote | None:
    lines = "\n".join(sample.splitlines()[:SNIFFER_LINES])
    try:
        has_header = csv.Sniffer().has_header(lines)
    except (csv.Error, ValueError, TypeError, ZeroDivisionError):
        # The sniffer guesses its own dialect first and fails on many real files.
        return None
    if has_header:
        return _Vote(1, "the first row's cells differ in type or length from the rows below")
    return _Vote(-1, "the first row's cells are like the rows below")


def _share(values: list[str], predicate: Callable[[str], bool]) -> float:
    return sum(1 for value in values if predicate(value)) / len(values)

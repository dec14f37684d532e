"""Datasets of one example per line, label first: fastText's and TREC's layouts.

- ``fasttext``: ``__label__pos __label__funny some text``: one or more ``__label__`` prefixes
  (several make the data multi-label), then the text;
- ``labelled-lines``: ``DESC:manner How did serfdom develop ?``: a label without spaces,
  whitespace, then the text.

pandas has no reader for either (the text holds the delimiter), so they are read here, line by
line, into the columns ``label`` and ``text``. ``sniff_line_format`` recognises them in the head
of a ``.txt`` file (or one without an extension) before it is taken for a CSV.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from engine.errors import BadInputError

FASTTEXT = "fasttext"
LABELLED_LINES = "labelled-lines"
LINE_FORMATS = (FASTTEXT, LABELLED_LINES)
FASTTEXT_PREFIX = "__label__"
#: Share of the sampled lines that must fit a layout for the file to be read in it.
MIN_SHARE = 0.9
#: Fewer sampled lines than this tell nothing about a labelled-lines file.
MIN_LINES = 4
#: A label of a labelled-lines file is a short token.
MAX_LABEL_CHARS = 40
_FASTTEXT_LINE = re.compile(r"\s*((?:__label__\S*\s+)+)(.*)", re.DOTALL)
_FASTTEXT_LABEL = re.compile(r"__label__(\S*)")
#: Delimiters whose constant count on every line makes a file a table, not labelled lines.
_TABLE_DELIMITERS = (",", ";", "|", "\t")


def sniff_line_format(head: bytes) -> str | None:
    """``fasttext``, ``labelled-lines``, or None when the head is not in a line format."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the head may end inside the last line
    if not lines:
        return None
    if _share(lines, lambda line: line.lstrip().startswith(FASTTEXT_PREFIX)) >= MIN_SHARE:
        return FASTTEXT
    if len(lines) >= MIN_LINES and not _is_table(lines) and _labelled(lines):
        return LABELLED_LINES
    return None


def _is_table(lines: list[str]) -> bool:
    """A delimiter found the same number of times on almost every line."""
    for delimiter in _TABLE_DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        most = max(set(counts), key=counts.count)
        if most > 0 and counts.count(most) >= MIN_SHARE * len(lines):
            return True
    return False


def _labelled(lines: list[str]) -> bool:
    """A short first token from a small, repeated set, then a text, on almost every line."""
    split = [line.split(None, 1) for line in lines]
    fitting = [parts for parts in split if len(parts) == 2 and len(parts[0]) <= MAX_LABEL_CHARS]
    if len(fitting) < MIN_SHARE * len(lines):
        return False
    labels = {parts[0] for parts in fitting}
    # The first words of free sentences are many; labels are few and each comes back often.
    return 2 <= len(labels) <= max(2, len(fitting) // 5)


def _share(lines: list[str], predicate: Callable[[str], bool]) -> float:
    return sum(1 for line in lines if predicate(line)) / len(lines)


def read_lines(path: Path, handle: BinaryIO, fmt: str, encoding: str) -> pd.DataFrame:
    """Read a line-format file (from the start of ``handle``) into ``label`` and ``text``.

    A fastText line with several labels gives a list; a line without a label, a missing label
    (the analysis counts and drops it).
    """
    texts: list[str | None] = []
    labels: list[object] = []
    several = False
    reader = io.TextIOWrapper(handle, encoding=encoding, newline=None)
    try:
        for line in reader:
            if not line.strip():
                continue
            if fmt == FASTTEXT:
                found = _FASTTEXT_LINE.match(line)
                if found is None:
                    labels.append(None)
                    texts.append(line.strip())
                    continue
                names = [name for name in _FASTTEXT_LABEL.findall(found.group(1)) if name]
                several = several or len(names) > 1
                labels.append(names or None)
                texts.append(found.group(2).strip() or None)
            else:
                parts = line.split(None, 1)
                labels.append(parts[0])
                texts.append(parts[1].strip() if len(parts) == 2 else None)
    except UnicodeDecodeError as exc:
        raise BadInputError(f"cannot read {path.name} as {encoding}: {exc.reason}") from exc
    finally:
        # The handle belongs to the caller: the wrapper must not close it.
        reader.detach()
    if fmt == FASTTEXT and not several:
        labels = [names[0] if isinstance(names, list) else None for names in labels]
    return pd.DataFrame({"label": labels, "text": texts}, dtype=object)

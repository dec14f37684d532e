"""Cleaning without surprises: what is dropped is counted by reason, duplicates are only counted.

The analysis and the training worker (through ``prepare.load_examples``) both clean with these
functions, so the worker trains on exactly the rows the analysis counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

from engine.analysis.columns import INDICATOR_COLUMNS, LabelSpec, cell_text, parse_labels
from engine.errors import BadInputError

EMPTY_TEXT = "empty text"
MISSING_LABEL = "missing label"
RARE_CLASS = "rare class"
#: Fewest examples a class needs: one to train on and one to validate with.
MIN_CLASS_EXAMPLES = 2
_NUMERIC_LABEL = re.compile(r"^-?\d+$")


@dataclass
class CleanRows:
    """The rows kept, with their text, labels and (raw) language cell."""

    texts: list[str]
    labels: list[list[str]]
    languages: list[str | None] | None
    rows_dropped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    """Texts equal to an earlier kept text (kept, only counted)."""
    conflicting_duplicates: int = 0
    """Distinct duplicated texts that carry different labels."""


def clean_rows(
    frame: pd.DataFrame, text_column: str, spec: LabelSpec, language_column: str | None
) -> CleanRows:
    """Drop rows with an empty or missing text or label, counting them by reason.

    A text is kept as written (not stripped); it is empty when only blank space. A multi-label
    row with an explicit empty label set (``[]``, all indicators 0) is kept: it is a text with no
    label, which multi-label data allows.
    """
    labels = parse_labels(frame, spec)
    raw_languages = frame[language_column].tolist() if language_column else None
    texts: list[str] = []
    kept_labels: list[list[str]] = []
    languages: list[str | None] | None = [] if raw_languages is not None else None
    dropped: Counter[str] = Counter()
    cells = frame[text_column].tolist()
    for position, (value, row_labels) in enumerate(zip(cells, labels, strict=True)):
        text = _text_of(value)
        if text is None:
            dropped[EMPTY_TEXT] += 1
            continue
        if row_labels is None or (not spec.multi_label and not row_labels):
            dropped[MISSING_LABEL] += 1
            continue
        texts.append(text)
        kept_labels.append(row_labels)
        if languages is not None and raw_languages is not None:
            languages.append(cell_text(raw_languages[position]))
    duplicates, conflicting = _duplicates(texts, kept_labels)
    return CleanRows(texts, kept_labels, languages, dict(dropped), duplicates, conflicting)


def class_counts(rows: CleanRows) -> Counter[str]:
    """Number of texts per label."""
    return Counter(label for row_labels in rows.labels for label in row_labels)


def rare_classes(rows: CleanRows) -> dict[str, int]:
    """Classes with fewer than MIN_CLASS_EXAMPLES texts, with their counts."""
    return {
        label: count
        for label, count in sorted(class_counts(rows).items())
        if count < MIN_CLASS_EXAMPLES
    }


def drop_classes(rows: CleanRows, classes: Collection[str], *, multi_label: bool) -> None:
    """Remove ``classes``: single-label rows of them are dropped (counted as ``rare class``);
    multi-label rows lose those labels and stay."""
    if not classes:
        return
    removed = set(classes)
    keep = [True] * len(rows.texts)
    for index, row_labels in enumerate(rows.labels):
        if multi_label:
            rows.labels[index] = [label for label in row_labels if label not in removed]
        elif row_labels[0] in removed:
            keep[index] = False
    if all(keep):
        return
    rows.rows_dropped[RARE_CLASS] = rows.rows_dropped.get(RARE_CLASS, 0) + keep.count(False)
    rows.texts = [text for text, kept in zip(rows.texts, keep, strict=True) if kept]
    rows.labels = [labels for labels, kept in zip(rows.labels, keep, strict=True) if kept]
    if rows.languages is not None:
        rows.languages = [lang for lang, kept in zip(rows.languages, keep, strict=True) if kept]
    rows.duplicates, rows.conflicting_duplicates = _duplicates(rows.texts, rows.labels)


def ordered_labels(rows: CleanRows, spec: LabelSpec) -> list[str]:
    """The label set in model-id order: indicator columns in file order; otherwise sorted,
    numerically when every label is an integer (so ``2`` comes before ``10``)."""
    present = set(class_counts(rows))
    if spec.layout == INDICATOR_COLUMNS:
        return [column for column in spec.columns if column in present]
    if present and all(_NUMERIC_LABEL.match(label) for label in present):
        return sorted(present, key=int)
    return sorted(present)


def check_class_count(labels: list[str], spec: LabelSpec) -> None:
    """A classifier needs at least two classes."""
    if len(labels) >= 2:
        return
    where = ", ".join(spec.columns)
    found = f"only the class {labels[0]!r}" if labels else "no label at all"
    raise BadInputError(
        f"the label column(s) {where} hold {found}; a classifier needs at least two classes"
    )


def _text_of(value: object) -> str | None:
    if isinstance(value, str):  # the common case first: this runs once per row
        return value if value and not value.isspace() else None
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _duplicates(texts: list[str], labels: list[list[str]]) -> tuple[int, int]:
    """Texts equal to an earlier one, and distinct duplicated texts with different label sets."""
    unique = len(set(texts))
    if unique == len(texts):
        return 0, 0
    # pandas groups 100,000 texts in milliseconds; a dict of label sets took a second.
    frame = pd.DataFrame({"text": texts, "labels": ["\x1f".join(sorted(row)) for row in labels]})
    label_sets = frame.groupby("text", sort=False)["labels"].nunique()
    return len(texts) - unique, int((label_sets > 1).sum())

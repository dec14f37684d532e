"""Which column holds the texts, which hold the labels, and how the labels are laid out.

Label layouts users actually have:

- ``single-column``: one categorical column, one class per text (single-label);
- ``list-column``: one column of lists, JSON arrays (``["a", "b"]``) or delimited labels
  (``a;b``, ``a|b``, ``2,27``, ``fearful_abusive``), zero or more labels per text (multi-label);
- ``indicator-columns``: one 0/1 column per label (multi-label).

Detection looks at the values, not only the names, and explains its choice in a warning when
another column could have been meant; every choice can be made explicitly instead.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import BadInputError

SINGLE_COLUMN = "single-column"
LIST_COLUMN = "list-column"
INDICATOR_COLUMNS = "indicator-columns"

#: Rows looked at to detect columns: enough to tell free text from categories, and fast.
DETECTION_ROWS = 2000
#: Delimiters tried inside label cells, most specific first (a comma is also common in prose).
LABEL_DELIMITERS = (";", "|", ",")
#: Delimiters that also occur inside single labels (``very_positive``, ``not hate``, ``c++``):
#: they count only when splitting explains the values much better (see _joins_labels).
WEAK_LABEL_DELIMITERS = ("+", "_", " ")
#: A combination of labels seen this often or less is rare.
RARE_COMBINATION = 2
#: A column with more distinct values than this is not a set of classes.
MAX_CLASSES = 1000
LABEL_NAMES = (
    "label",
    "labels",
    "category",
    "categories",
    "class",
    "classes",
    "target",
    "targets",
    "tag",
    "tags",
    "sentiment",
    "topic",
    "topics",
    "intent",
    "intents",
    "emotion",
    "emotions",
    "sentiments",
    "polarity",
    "stance",
    "annotation",
    "annotations",
    "gold",
    "gold_label",
    "label_id",
    "label_ids",
    "y",
)
LANGUAGE_NAMES = ("language", "languages", "lang", "langue", "locale", "lang_code")
INDICATOR_TRUE = frozenset({"1", "1.0", "true"})
INDICATOR_FALSE = frozenset({"0", "0.0", "false"})
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:/\-]+$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class LabelSpec:
    """Where the labels are and how to read them."""

    layout: str
    """single-column, list-column or indicator-columns."""
    columns: tuple[str, ...]
    """The label column (one) or the indicator columns (several)."""
    delimiter: str | None = None
    """Delimiter inside a list-column cell; None for lists and JSON arrays."""

    @property
    def multi_label(self) -> bool:
        return self.layout != SINGLE_COLUMN


@dataclass
class ColumnChoice:
    """The columns an analysis uses, and what the user should know about the choice."""

    text_column: str
    labels: LabelSpec
    language_column: str | None
    warnings: list[str] = field(default_factory=list)


def choose_columns(
    frame: pd.DataFrame,
    *,
    text_column: str | None = None,
    label_columns: list[str] | None = None,
    language_column: str | None = None,
    label_delimiter: str | None = None,
    multi_label: bool = False,
) -> ColumnChoice:
    """The text, label and language columns: the given ones (checked), the others detected.

    ``label_delimiter`` splits the label column's cells into labels, whatever detection finds;
    ``multi_label`` (a session recorded as multi-label) reads the label column as lists even
    when no delimiter stands out.

    Raises:
        BadInputError: a named column does not exist, no column looks like free text, no column
            looks like labels, several named label columns are not all 0/1 indicators, or a
            label delimiter is given for indicator columns.
    """
    require_columns(frame, [c for c in (text_column, language_column) if c] + (label_columns or []))
    warnings: list[str] = []
    if language_column is None:
        language_column = _named_column(frame, LANGUAGE_NAMES)
    taken = {language_column} if language_column else set()
    if text_column is None:
        text_column = detect_text_column(frame, exclude=taken | set(label_columns or []))
    if text_column in (label_columns or []) or text_column == language_column:
        raise BadInputError(
            f"column {text_column!r} cannot be both the text and a label or language column"
        )
    spec, label_warnings = detect_label_spec(
        frame, label_columns=label_columns, exclude=taken | {text_column}, multi_label=multi_label
    )
    warnings += label_warnings
    if label_delimiter is not None:
        if spec.layout == INDICATOR_COLUMNS:
            raise BadInputError(
                "--label-delimiter splits one label column; the labels are in 0/1 indicator "
                f"columns ({', '.join(spec.columns)})"
            )
        spec = LabelSpec(LIST_COLUMN, spec.columns, label_delimiter)
    return ColumnChoice(text_column, spec, language_column, warnings)


def require_columns(frame: pd.DataFrame, names: Iterable[str]) -> None:
    """Raise BadInputError naming the first missing column and listing those that exist."""
    for name in names:
        if name not in frame.columns:
            raise BadInputError(
                f"column {name!r} does not exist; the columns are: {', '.join(frame.columns)}"
            )


def cell_text(value: Any) -> str | None:
    """A scalar cell as stripped text; None when missing or blank. Integral floats lose ``.0``."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    return text or None


def is_list_value(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def detect_text_column(frame: pd.DataFrame, exclude: set[str]) -> str:
    """The column of longest free text.

    Free text is a column where most values have several words; when there is none (languages
    written without spaces), a column of long, mostly distinct values that are not identifiers.
    """
    sample = frame.head(DETECTION_ROWS)
    worded: list[tuple[float, str]] = []
    unspaced: list[tuple[float, str]] = []
    for column in frame.columns:
        if column in exclude:
            continue
        values = [text for text in map(_scalar_text, sample[column].tolist()) if text is not None]
        if not values or _share(values, lambda v: bool(_NUMBER.match(v))) > 0.5:
            continue
        mean_length = sum(map(len, values)) / len(values)
        if _share(values, lambda v: " " in v) >= 0.5:
            worded.append((mean_length, column))
        elif (
            mean_length >= 10
            and len(set(values)) >= 0.5 * len(values)
            and _share(values, lambda v: bool(_IDENTIFIER.match(v))) < 0.5
        ):
            unspaced.append((mean_length, column))
    candidates = worded or unspaced
    if not candidates:
        raise BadInputError(
            f"no column looks like free text (columns: {', '.join(frame.columns)}); "
            "name the text column with --text-column"
        )
    return max(candidates, key=lambda candidate: candidate[0])[1]


def detect_label_spec(
    frame: pd.DataFrame,
    *,
    label_columns: list[str] | None,
    exclude: set[str],
    multi_label: bool = False,
) -> tuple[LabelSpec, list[str]]:
    """The label layout: of the given columns, or found among the others.

    Found in this order: a column named like a label (``label``, ``polarity``...), several 0/1
    indicator columns, a column of lists, a categorical column (few distinct, short, repeated
    values; the rightmost when several). ``multi_label`` reads one label column as lists.

    Returns:
        The spec and warnings about the choice.
    """
    if label_columns:
        if len(label_columns) == 1:
            column = label_columns[0]
            return _column_spec(frame[column].tolist(), column, multi_label=multi_label), []
        for column in label_columns:
            values = frame[column].tolist()
            if not _is_indicator(values):
                raise BadInputError(
                    f"several label columns must each hold 0/1 indicators, but {column!r} holds "
                    f"values such as {_examples(values)}; give one label column instead"
                )
        return LabelSpec(INDICATOR_COLUMNS, tuple(label_columns)), []
    candidates = [column for column in frame.columns if column not in exclude]
    sample = {column: frame[column].head(DETECTION_ROWS).tolist() for column in candidates}
    by_values = [column for column in candidates if _could_be_labels(sample[column])]
    named = [column for column in candidates if column.lower() in LABEL_NAMES]
    if named:
        chosen = named[0]
        spec = _column_spec(frame[chosen].tolist(), chosen, multi_label=multi_label)
        others = [column for column in named[1:] + by_values if column != chosen]
        return spec, _other_choices(chosen, list(dict.fromkeys(others)), "its name")
    indicators = [column for column in candidates if _is_indicator(sample[column])]
    if len(indicators) >= 2 and not multi_label:
        return LabelSpec(INDICATOR_COLUMNS, tuple(indicators)), []
    specs = {
        column: _column_spec(frame[column].tolist(), column, multi_label=multi_label)
        for column in by_values
    }
    listed = [column for column, spec in specs.items() if spec.multi_label]
    if listed and not multi_label:
        why = "its cells hold several labels"
        return specs[listed[0]], _other_choices(listed[0], listed[1:], why)
    if specs:
        chosen = list(specs)[-1]
        why = "its values are few and repeated, and it is the rightmost such column"
        return specs[chosen], _other_choices(chosen, list(specs)[:-1], why)
    raise BadInputError(
        f"no column looks like labels (columns: {', '.join(frame.columns)}); "
        "name it with --label-column"
    )


def parse_labels(frame: pd.DataFrame, spec: LabelSpec) -> list[list[str] | None]:
    """Each row's labels (an empty list: explicitly none); None when the label is missing."""
    if spec.layout == INDICATOR_COLUMNS:
        return _indicator_labels(frame, spec.columns)
    column = frame[spec.columns[0]].tolist()
    if spec.layout == SINGLE_COLUMN:
        return [None if text is None else [text] for text in map(_scalar_text, column)]
    return [_list_cell(value, spec.delimiter) for value in column]


def _named_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((column for column in frame.columns if column.lower() in names), None)


def _other_choices(chosen: str, others: list[str], why: str) -> list[str]:
    if not others:
        return []
    return [
        f"used {chosen!r} as the label column ({why}); {', '.join(map(repr, others))} could "
        "also be labels: choose with --label-column"
    ]


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, str):  # the common case first: this runs once per cell
        return value.strip() or None
    if is_list_value(value):
        return json.dumps([cell_text(item) for item in value], ensure_ascii=False)
    return cell_text(value)


def _share(values: list[str], predicate: Any) -> float:
    return sum(1 for value in values if predicate(value)) / len(values)


def _examples(values: list[Any], count: int = 3) -> str:
    seen: list[str] = []
    for text in map(_scalar_text, values):
        if text is not None and text not in seen:
            seen.append(text)
            if len(seen) == count:
                break
    return ", ".join(repr(value[:30]) for value in seen) or "nothing"


def _is_indicator(values: list[Any]) -> bool:
    texts = {text.lower() for text in map(_scalar_text, _distinct(values)) if text is not None}
    return bool(texts) and texts <= INDICATOR_TRUE | INDICATOR_FALSE


def _could_be_labels(sample: list[Any]) -> bool:
    """Few distinct values, repeated: categories, not texts, ids or measurements."""
    values = [text for text in map(_scalar_text, sample) if text is not None]
    if not values:
        return False
    distinct = set(values)
    if any(is_list_value(value) for value in sample):
        return True
    if _share(values, lambda v: bool(_NUMBER.match(v)) and not v.lstrip("+-").isdigit()) > 0.5:
        return False  # measurements (scores, probabilities), not classes
    return 2 <= len(distinct) <= MAX_CLASSES and len(distinct) <= 0.5 * len(values)


def _column_spec(values: list[Any], name: str, *, multi_label: bool = False) -> LabelSpec:
    """The layout of one label column: lists, JSON arrays, delimited labels, or single labels.

    With ``multi_label`` the column is read as lists in any case: split by the delimiter found
    in most cells, or one label per cell when none is.
    """
    if any(is_list_value(value) for value in values if not isinstance(value, str)):
        return LabelSpec(LIST_COLUMN, (name,))
    texts = {text for text in map(cell_text, _distinct(values)) if text is not None}
    if texts and all(_parse_array(text) is not None for text in texts):
        return LabelSpec(LIST_COLUMN, (name,))
    delimiter = _label_delimiter(values, texts)
    if delimiter is not None:
        return LabelSpec(LIST_COLUMN, (name,), delimiter)
    if multi_label:
        found = [
            d for d in (*LABEL_DELIMITERS, *WEAK_LABEL_DELIMITERS) if any(d in t for t in texts)
        ]
        most = max(found, key=lambda d: sum(1 for text in texts if d in text), default=None)
        return LabelSpec(LIST_COLUMN, (name,), most)
    return LabelSpec(SINGLE_COLUMN, (name,))


def _label_delimiter(values: list[Any], texts: set[str]) -> str | None:
    """The delimiter joining several labels in the cells of a label column, if any."""
    for delimiter in LABEL_DELIMITERS:
        containing = [text for text in texts if delimiter in text]
        if not containing:
            continue
        tokens = {token.strip() for text in texts for token in text.split(delimiter)}
        if "" in tokens:
            continue
        # Combinations of a smaller set of labels, or a structural delimiter used in most cells.
        if len(tokens) < len(texts) or (delimiter != "," and len(containing) > len(texts) / 2):
            return delimiter
    counts = Counter(text for text in map(cell_text, values) if text is not None)
    return next(
        (delimiter for delimiter in WEAK_LABEL_DELIMITERS if _joins_labels(counts, delimiter)),
        None,
    )


def _joins_labels(counts: Counter[str], delimiter: str) -> bool:
    """Whether ``delimiter`` joins labels in these cell values (with their counts).

    It does when splitting explains the values much better than whole values: the values it
    joins are made of parts that are values on their own (``health_politics`` among
    ``health`` and ``politics``), or they are many rare combinations of a few frequent parts
    (``fearful_abusive_hateful`` among 50 combinations of 6 emotions). ``very_positive`` among
    ``positive``, ``negative`` and ``very_negative`` is one label: ``very`` is no label.
    """
    combined = [value for value in counts if delimiter in value]
    if len(combined) < 2:
        return False
    parts: Counter[str] = Counter()
    for value, count in counts.items():
        for part in value.split(delimiter):
            parts[part.strip()] += count
    if "" in parts:
        return False
    alone = {value for value in counts if delimiter not in value}
    if all(part.strip() in alone for value in combined for part in value.split(delimiter)):
        return True
    frequent = sum(1 for count in parts.values() if count > RARE_COMBINATION)
    rare = sum(1 for value in combined if counts[value] <= RARE_COMBINATION)
    return (
        len(combined) >= 3
        and 2 * len(parts) <= len(counts)
        and frequent >= 0.8 * len(parts)
        and rare >= 0.3 * len(combined)
    )


def _distinct(values: list[Any]) -> list[Any]:
    """The distinct values (all of them when some cannot be hashed, like dicts)."""
    try:
        return list(set(values))
    except TypeError:
        return values


def _parse_array(text: str) -> list[Any] | None:
    """A JSON array, or a Python list literal (what pandas writes for a list cell), else None."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, list | tuple):
            return list(parsed)
    return None


def _list_cell(value: Any, delimiter: str | None) -> list[str] | None:
    if is_list_value(value):
        items: list[Any] = list(value)
    else:
        text = cell_text(value)
        if text is None:
            return None
        parsed = _parse_array(text)
        if parsed is not None:
            items = parsed
        elif delimiter is not None:
            items = text.split(delimiter)
        else:
            items = [text]
    labels = [label for label in map(cell_text, items) if label is not None]
    return list(dict.fromkeys(labels))


def _indicator_labels(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[list[str] | None]:
    cells = [[_scalar_text(value) for value in frame[column].tolist()] for column in columns]
    result: list[list[str] | None] = []
    for row in zip(*cells, strict=True):
        if any(value is None for value in row):
            result.append(None)
            continue
        labels = []
        for column, value in zip(columns, row, strict=True):
            lowered = str(value).lower()
            if lowered not in INDICATOR_TRUE | INDICATOR_FALSE:
                raise BadInputError(
                    f"indicator column {column!r} holds {value!r}; indicator columns hold only 0/1"
                )
            if lowered in INDICATOR_TRUE:
                labels.append(column)
        result.append(labels)
    return result

"""The training examples of a session: the analysed file re-read and cleaned exactly as analysed.

The training worker calls ``load_examples(dataset_config)``; it applies the recorded choices
(columns, label layout and delimiter, dropped rare classes, label order) with the same cleaning
functions the analysis used, so the model trains on the very rows the analysis counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.analysis.cleaning import CleanRows, clean_rows, drop_classes
from engine.analysis.columns import (
    INDICATOR_COLUMNS,
    LIST_COLUMN,
    SINGLE_COLUMN,
    LabelSpec,
    detect_label_spec,
    require_columns,
)
from engine.analysis.languages import detect_languages, normalize_language
from engine.analysis.readers import KNOWN_FORMATS, ReadOptions, read_table
from engine.errors import BadInputError
from engine.schema import DatasetConfig


@dataclass
class Examples:
    """Cleaned texts with their label ids."""

    texts: list[str]
    label_names: list[str]
    """Ordered label set; equals DatasetConfig.labels."""
    targets: list[list[int]]
    """Per text, indices into label_names (single-label: exactly one)."""
    multi_label: bool
    languages: list[str] | None
    """Per text, upper-case ISO 639-1 code (``UNKNOWN`` when undetermined), when known."""


def to_examples(
    rows: CleanRows,
    label_names: list[str],
    *,
    multi_label: bool,
    languages: list[str] | None = None,
) -> Examples:
    """Examples from cleaned rows, with label ids in ``label_names`` order.

    Raises:
        BadInputError: a row carries a label that is not in ``label_names``.
    """
    index = {name: position for position, name in enumerate(label_names)}
    targets: list[list[int]] = []
    for row_labels in rows.labels:
        try:
            targets.append([index[label] for label in row_labels])
        except KeyError as exc:
            raise BadInputError(
                f"the data holds label {exc.args[0]!r}, which the session's labels "
                f"({', '.join(label_names)}) do not include: the file changed since it was "
                "analysed; analyse it again"
            ) from None
    return Examples(rows.texts, list(label_names), targets, multi_label, languages)


def label_spec_of(config: DatasetConfig) -> LabelSpec | None:
    """The label spec a DatasetConfig records; None when it records no layout (older files)."""
    if config.label_layout == INDICATOR_COLUMNS or (
        config.label_layout is None and config.label_columns and not config.label_column
    ):
        return LabelSpec(INDICATOR_COLUMNS, tuple(config.label_columns))
    if config.label_layout in (SINGLE_COLUMN, LIST_COLUMN) and config.label_column:
        return LabelSpec(config.label_layout, (config.label_column,), config.label_delimiter)
    return None


def read_options_of(config: DatasetConfig) -> ReadOptions:
    """How the analysis read the file, as recorded: resume and relaunch read it the same way.

    A session recorded before headers were detected (``header`` None) was read with one. A
    format this tool does not read (the original tool's ``llm-json``) is detected again.
    """
    return ReadOptions(
        header=True if config.header is None else config.header,
        delimiter=config.delimiter,
        encoding=config.encoding,
        sheet=config.sheet,
        format=config.format if config.format in KNOWN_FORMATS else None,
    )


def load_examples(config: DatasetConfig, *, detect_language: bool = False) -> Examples:
    """Re-read ``config.primary_file`` and clean it as the analysis did. Deterministic.

    Languages come from the recorded language column; without one they are detected on every
    text when ``detect_language`` is true (slow on large files), else left unknown (None).

    Raises:
        BadInputError: the file is missing or unreadable, a recorded column is missing, or the
            data holds labels the config does not list.
    """
    if not config.primary_file:
        raise BadInputError("the session names no dataset file (dataset_config.primary_file)")
    if not config.text_column:
        raise BadInputError("the session names no text column (dataset_config.text_column)")
    table = read_table(Path(config.primary_file), read_options_of(config))
    frame = table.frame
    label_columns = list(config.label_columns) or (
        [config.label_column] if config.label_column else []
    )
    if not label_columns:
        raise BadInputError("the session names no label column (dataset_config.label_column)")
    require_columns(
        frame,
        [config.text_column, *label_columns]
        + ([config.language_column] if config.language_column else []),
    )
    spec = (
        label_spec_of(config)
        or detect_label_spec(
            frame,
            label_columns=label_columns,
            exclude={config.text_column},
            multi_label=config.strategy == "multi-label",
        )[0]
    )
    rows = clean_rows(frame, config.text_column, spec, config.language_column)
    drop_classes(rows, config.dropped_rare_classes, multi_label=spec.multi_label)
    label_names = list(config.labels) or sorted({label for row in rows.labels for label in row})
    languages: list[str] | None = None
    if rows.languages is not None:
        languages = [normalize_language(value) for value in rows.languages]
    elif detect_language:
        languages = detect_languages(rows.texts)
    return to_examples(rows, label_names, multi_label=spec.multi_label, languages=languages)

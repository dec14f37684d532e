"""The dataset analysis: everything ``dataset_config``, ``language_config`` and ``text_analysis``
hold, measured on the user's file.

Stages: read, choose columns, clean, split (to fail early on classes too small), languages, model
recommendations, token statistics, fingerprint. Each reports to an optional ``progress`` callback
so that a UI can show where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.analysis.catalog import (
    Recommendation,
    model_max_tokens,
    recommend_models,
    with_availability,
)
from engine.analysis.cleaning import (
    EMPTY_TEXT,
    MISSING_LABEL,
    check_class_count,
    class_counts,
    clean_rows,
    drop_classes,
    ordered_labels,
    rare_classes,
)
from engine.analysis.columns import INDICATOR_COLUMNS, choose_columns
from engine.analysis.fingerprint import fingerprint_file
from engine.analysis.languages import LanguageReport, analyze_languages
from engine.analysis.prepare import to_examples
from engine.analysis.readers import ReadOptions, read_table
from engine.analysis.splits import split_examples
from engine.analysis.tokens import (
    count_tokens,
    long_document_share,
    requires_long_document_model,
    token_stats,
)
from engine.errors import BadInputError, Remedy
from engine.files import expand_user
from engine.schema import DatasetConfig, LanguageConfig, SplitConfig, TextAnalysis

PREVIEW_ROWS = 5
#: Rare classes named in the error; the others are counted.
RARE_SHOWN = 8
PREVIEW_CHARS = 200
Progress = Callable[[str, float], None]


@dataclass
class DatasetAnalysis:
    """The result of an analysis: the three metadata sections and what a UI shows besides."""

    dataset_config: DatasetConfig
    language_config: LanguageConfig
    text_analysis: TextAnalysis
    preview: list[dict[str, str]]
    """The first rows of the file, cells as (shortened) text."""
    columns: list[str]
    """Columns of the file."""
    recommendations: list[Recommendation] = field(default_factory=list)
    """Catalogue models for these texts, best first, with their offline availability."""
    model: str | None = None
    """The model the token statistics are for: the one given, else the first recommendation."""

    @property
    def recommended_model(self) -> str | None:
        """The first recommendation (``model_config.recommended_model``)."""
        return self.recommendations[0].model.model_id if self.recommendations else None

    @property
    def warnings(self) -> list[str]:
        return self.dataset_config.warnings

    def sections(self) -> dict[str, dict[str, Any]]:
        """The three sections as JSON-ready dicts, exactly as they are saved."""
        return {
            "dataset_config": self.dataset_config.model_dump(mode="json", by_alias=True),
            "language_config": self.language_config.model_dump(mode="json", by_alias=True),
            "text_analysis": self.text_analysis.model_dump(mode="json", by_alias=True),
        }


def analyze_dataset(
    path: Path,
    *,
    text_column: str | None = None,
    label_columns: list[str] | None = None,
    language_column: str | None = None,
    model: str | None = None,
    read: ReadOptions | None = None,
    label_delimiter: str | None = None,
    multi_label: bool = False,
    drop_rare_classes: bool = False,
    split: SplitConfig | None = None,
    progress: Progress | None = None,
) -> DatasetAnalysis:
    """Analyse a dataset file. Writes nothing.

    Args:
        path: the dataset file.
        text_column, label_columns, language_column: columns to use instead of detecting them.
        model: the model to train (hub id or local directory); token counts use its tokenizer.
        read: how to read the file (header, delimiter, encoding, sheet, format), instead of
            detecting it.
        label_delimiter: the delimiter joining several labels in one cell, instead of detecting
            it (the data is then multi-label).
        multi_label: read one label column as lists of labels even when no delimiter stands out
            (a session recorded as multi-label).
        drop_rare_classes: drop classes with fewer than two examples instead of failing.
        split: split ratios and seed, whose sizes are filled in; a split that is not possible
            is an error. Without it, the default 80/20 split (seed 42) is tried, and a warning
            says when it is not possible.
        progress: called with (stage, fraction done).

    Raises:
        BadInputError: the file, a column or the labels cannot be used, with the reason.
    """
    report = progress or _no_progress
    path = expand_user(str(path))
    _check_model_argument(model)
    report("Reading the file", 0.0)
    table = read_table(path, read)
    frame = table.frame
    warnings = list(table.warnings)
    if table.header is False:
        warnings.append(
            f"no header row: the first row is data ({table.header_reason}); the columns are "
            f"named {', '.join(frame.columns)}; pass --header if the first row names them"
        )

    report("Finding the text and label columns", 0.2)
    try:
        choice = choose_columns(
            frame,
            text_column=text_column,
            label_columns=label_columns,
            language_column=language_column,
            label_delimiter=label_delimiter,
            multi_label=multi_label,
        )
    except BadInputError as exc:
        if not table.tried:
            raise
        tried = ", ".join(f"format: {name}" for name in table.tried)
        raise BadInputError(f"{exc} (read as {table.format.upper()}; also tried {tried})") from exc
    spec = choice.labels
    warnings += choice.warnings

    report("Cleaning", 0.3)
    rows = clean_rows(frame, choice.text_column, spec, choice.language_column)
    if not rows.texts:
        raise BadInputError(
            f"no usable row in {path.name}: {_dropped_text(rows.rows_dropped)}; check the text "
            "and label columns"
        )
    rare = rare_classes(rows)
    if rare and not drop_rare_classes:
        shown = list(rare.items())[:RARE_SHOWN]
        listed = ", ".join(f"{label!r} ({count})" for label, count in shown)
        more = f" and {len(rare) - len(shown)} more" if len(rare) > len(shown) else ""
        shell = "add examples or pass --drop-rare-classes"
        app = "add examples or tick “Drop classes with fewer than 2 examples”"
        if not spec.multi_label:
            shell += ", or --label-delimiter D if a cell holds several labels"
            app += ", or choose the label delimiter if a cell holds several labels"
        raise BadInputError(
            f"{len(rare)} {'class' if len(rare) == 1 else 'classes'} with fewer than 2 examples: "
            f"{listed}{more}",
            Remedy(shell=shell, app=app),
        )
    drop_classes(rows, rare, multi_label=spec.multi_label)
    labels = ordered_labels(rows, spec)
    check_class_count(labels, spec)
    if rare:
        warnings.append(f"dropped rare classes (fewer than 2 examples): {', '.join(rare)}")
    if rows.conflicting_duplicates:
        warnings.append(
            f"{rows.conflicting_duplicates} duplicated texts carry different labels; check them"
        )
    if spec.multi_label and (unlabelled := sum(1 for row in rows.labels if not row)):
        warnings.append(f"{unlabelled} texts have no label (kept: multi-label data allows it)")

    report("Splitting", 0.35)
    examples = to_examples(rows, labels, multi_label=spec.multi_label)
    split_config = (split or SplitConfig()).model_copy()
    try:
        indices = split_examples(examples, split_config)
    except BadInputError as exc:
        if split is not None:
            raise
        # The default split was not asked for: the data is still analysable, and the split can
        # be chosen when training is configured, where an impossible one is an error.
        warnings.append(f"the default split is not possible: {exc}")
    else:
        split_config.train_size = len(indices.train)
        split_config.validation_size = len(indices.validation)
        split_config.test_size = len(indices.test)

    report("Detecting languages", 0.45)
    languages = analyze_languages(rows.texts, rows.languages, choice.language_column)
    warnings += _language_warnings(languages, len(rows.texts))

    report("Counting tokens", 0.65)
    chosen_model = model or recommend_models(languages.confirmed)[0].model_id
    counts = count_tokens(rows.texts, chosen_model)
    max_tokens = model_max_tokens(chosen_model)
    share = long_document_share(counts.counts, max_tokens)
    long_documents = requires_long_document_model(share)
    recommendations = with_availability(
        recommend_models(languages.confirmed, long_documents=long_documents)
    )
    if not counts.exact:
        warnings.append(
            f"the tokenizer of {chosen_model} is not available offline here: token counts are "
            f"an {counts.tokenizer}"
        )
    if long_documents:
        warnings.append(
            f"{share:.0%} of the texts exceed {max_tokens} tokens: a long-document model is "
            f"recommended ({recommendations[0].model.model_id})"
        )

    report("Fingerprinting the file", 0.9)
    fingerprint = fingerprint_file(path, rows=len(frame))
    stats = token_stats(counts.counts)
    distribution = class_counts(rows)
    indicators = spec.layout == INDICATOR_COLUMNS
    dataset_config = DatasetConfig(
        primary_file=str(path.resolve()),
        format=table.format,
        header=table.header,
        delimiter=table.delimiter,
        strategy="multi-label" if spec.multi_label else "single-label",
        text_column=choice.text_column,
        label_column=None if indicators else spec.columns[0],
        label_columns=list(spec.columns) if indicators else [],
        label_layout=spec.layout,
        label_delimiter=spec.delimiter,
        language_column=choice.language_column,
        sheet=table.sheet,
        encoding=table.encoding,
        labels=labels,
        total_samples=len(rows.texts),
        num_categories=len(labels),
        category_distribution={label: distribution[label] for label in labels},
        rows_read=len(frame),
        rows_dropped=rows.rows_dropped,
        duplicates=rows.duplicates,
        dropped_rare_classes=list(rare),
        warnings=warnings,
        fingerprint=fingerprint,
        split=split_config,
    )
    language_config = _language_config(languages, recommendations)
    text_analysis = TextAnalysis(
        text_length_stats=stats,
        requires_long_document_model=long_documents,
        avg_token_length=stats.token_mean,
        max_token_length=stats.token_max,
        tokenizer=counts.tokenizer,
        exact=counts.exact,
        long_document_share=round(share, 4),
    )
    report("Done", 1.0)
    return DatasetAnalysis(
        dataset_config=dataset_config,
        language_config=language_config,
        text_analysis=text_analysis,
        preview=_preview(frame),
        columns=list(frame.columns),
        recommendations=recommendations,
        model=chosen_model,
    )


def _no_progress(stage: str, fraction: float) -> None:
    """Progress callback used when the caller gives none."""


def _check_model_argument(model: str | None) -> None:
    """A model given as a path must be a directory; anything else is taken as a hub id."""
    if model is None:
        return
    if "\0" in model:
        raise BadInputError(f"model {model!r} has a NUL character; check the name")
    local = expand_user(model)
    if local.exists() and not local.is_dir():
        raise BadInputError(f"model {model} is a file; give a model directory or a hub id")
    if not local.exists() and model.startswith(("/", "./", "../", "~", "\\")):
        raise BadInputError(f"model directory {model} does not exist; check the path")


def _dropped_text(dropped: dict[str, int]) -> str:
    parts = [f"{dropped.get(reason, 0)} with {reason}" for reason in (EMPTY_TEXT, MISSING_LABEL)]
    return ", ".join(parts)


def _language_warnings(languages: LanguageReport, total: int) -> list[str]:
    warnings = []
    if languages.sampled:
        warnings.append(
            f"language detection ran on a random sample of {languages.sample_size:,} of "
            f"{total:,} texts; language_distribution counts the sample"
        )
    if languages.unknown:
        warnings.append(
            f"the language of {languages.unknown} of {languages.sample_size:,} texts could not "
            "be told (too short or no letters)"
        )
    return warnings


def _language_config(
    languages: LanguageReport, recommendations: list[Recommendation]
) -> LanguageConfig:
    """One confirmed language with a dedicated model: language-specific; otherwise multilingual."""
    top = recommendations[0].model if recommendations else None
    if len(languages.confirmed) == 1 and top is not None and not top.multilingual:
        strategy = "language-specific"
        mapping = {languages.confirmed[0]: top.model_id}
    else:
        strategy, mapping = "multilingual", {}
    return LanguageConfig(
        confirmed_languages=languages.confirmed,
        language_distribution=languages.distribution,
        model_strategy=strategy,
        language_model_mapping=mapping,
        detection_method=languages.method,
        detection_sample_size=languages.sample_size,
    )


def _preview(frame: Any) -> list[dict[str, str]]:
    rows = []
    for record in frame.head(PREVIEW_ROWS).to_dict(orient="records"):
        rows.append({str(column): _short(value) for column, value in record.items()})
    return rows


def _short(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"

"""Headless ``analyze`` command: analyse a dataset file and print what the metadata will hold."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from llmtool_tui.cli import engine_for
from llmtool_tui.untrusted import json_text, literal, visible

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis

#: Languages listed by name in the summary; the long tail of misdetections is summed up.
SHOWN_LANGUAGES = 5


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """How to read a dataset (columns, header, delimiters, encoding, sheet), shared by
    ``analyze`` and ``train``; each one left out is detected."""
    parser.add_argument("--text-column", metavar="C", help="column holding the texts")
    parser.add_argument(
        "--label-column",
        metavar="L",
        nargs="+",
        action="extend",
        dest="label_columns",
        help="label column, or several 0/1 indicator columns (multi-label)",
    )
    parser.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the first row of a CSV/TSV names the columns (default: detected; "
        "without one the columns are column_1, column_2...)",
    )
    parser.add_argument(
        "--delimiter",
        metavar="D",
        type=_delimiter,
        help="field delimiter of a CSV/TSV file, e.g. ';' or tab (default: detected)",
    )
    parser.add_argument(
        "--encoding", metavar="E", help="text encoding, e.g. latin-1 (default: UTF-8, else cp1252)"
    )
    parser.add_argument(
        "--label-delimiter",
        metavar="D",
        type=_delimiter,
        help="delimiter joining several labels in one cell, e.g. '_' or '|' (multi-label; "
        "default: detected)",
    )
    parser.add_argument("--sheet", metavar="S", help="Excel sheet (default: the first)")


def _delimiter(value: str) -> str:
    """A delimiter as typed: ``tab`` and ``\\t`` name a tab; ``space`` a space."""
    named = {"tab": "\t", "\\t": "\t", "space": " "}
    return named.get(value.lower(), value)


def dataset_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``add_dataset_options`` as keyword arguments of ``Engine.analyze``."""
    return {
        "text_column": args.text_column,
        "label_columns": args.label_columns,
        "header": args.header,
        "delimiter": args.delimiter,
        "encoding": args.encoding,
        "label_delimiter": args.label_delimiter,
        "sheet": args.sheet,
    }


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the command to the parser."""
    parser = subparsers.add_parser(
        "analyze",
        parents=[common],
        help="analyse a dataset: columns, labels, languages, token lengths, recommended models",
    )
    parser.add_argument(
        "dataset",
        metavar="DATASET",
        type=Path,
        help="CSV, TSV, JSON, JSONL, Excel (.xlsx), Parquet, fastText or 'label text' lines",
    )
    add_dataset_options(parser)
    parser.add_argument(
        "--language-column",
        metavar="C",
        help="column holding each text's language (overrides detection)",
    )
    parser.add_argument(
        "--model",
        metavar="M",
        help="model to train (hub id or local directory): tokens are counted "
        "with its tokenizer when it is available offline",
    )
    parser.add_argument(
        "--drop-rare-classes",
        action="store_true",
        help="drop classes with fewer than 2 examples instead of failing",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the dataset_config, language_config and text_analysis sections as JSON",
    )
    parser.set_defaults(handler=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    """``llmtool-tui analyze``."""
    analysis = engine_for(args).analyze(
        args.dataset,
        language_column=args.language_column,
        model=args.model,
        drop_rare_classes=args.drop_rare_classes,
        **dataset_options(args),
    )
    if args.json:
        for warning in analysis.warnings:
            print(f"warning: {visible(warning)}", file=sys.stderr)
        sys.stdout.write(json_text(analysis.sections()) + "\n")
        return 0
    print_summary(analysis, Console(highlight=False))
    return 0


def print_summary(analysis: DatasetAnalysis, console: Console) -> None:
    """The readable summary of an analysis; what comes from the file is shown escaped."""
    dataset = analysis.dataset_config
    languages = analysis.language_config
    text = analysis.text_analysis
    stats = text.text_length_stats

    overview = Table.grid(padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column()

    def row(name: str, value: object) -> None:
        overview.add_row(name, literal(str(value)))

    row("File", dataset.primary_file)
    row(
        "Format",
        ", ".join(
            filter(
                None,
                [
                    dataset.format,
                    dataset.encoding,
                    dataset.delimiter and f"delimiter {dataset.delimiter!r}",
                    "no header row" if dataset.header is False else None,
                    dataset.sheet and f"sheet {dataset.sheet}",
                ],
            )
        ),
    )
    dropped = ", ".join(f"{count} {reason}" for reason, count in dataset.rows_dropped.items())
    row(
        "Rows",
        f"{dataset.rows_read} read, {dataset.total_samples} kept"
        + (f" (dropped: {dropped})" if dropped else "")
        + f", {dataset.duplicates} duplicated texts",
    )
    row("Text column", dataset.text_column)
    label_where = (
        ", ".join(dataset.label_columns) if dataset.label_columns else dataset.label_column
    )
    delimiter = f", delimiter {dataset.label_delimiter!r}" if dataset.label_delimiter else ""
    row(
        "Labels",
        f"{label_where} ({dataset.label_layout}{delimiter}): {dataset.strategy}, "
        f"{dataset.num_categories} classes",
    )
    if dataset.dropped_rare_classes:
        row("Dropped classes", ", ".join(dataset.dropped_rare_classes))
    split = dataset.split
    row(
        "Split",
        f"train {split.train_size}, validation {split.validation_size}, "
        f"test {split.test_size} (seed {split.seed}"
        f"{', stratified' if split.stratified else ''})",
    )
    counted = list(languages.language_distribution.items())
    distribution = ", ".join(f"{code} {count}" for code, count in counted[:SHOWN_LANGUAGES])
    if len(counted) > SHOWN_LANGUAGES:
        rest = sum(count for _, count in counted[SHOWN_LANGUAGES:])
        distribution += f", {len(counted) - SHOWN_LANGUAGES} others {rest}"
    row(
        "Languages",
        f"{', '.join(languages.confirmed_languages) or 'unknown'} "
        f"({distribution or 'none detected'}; {languages.detection_method}, "
        f"{languages.detection_sample_size} texts)",
    )
    mapping = ", ".join(
        f"{code} -> {model}" for code, model in languages.language_model_mapping.items()
    )
    row("Model strategy", languages.model_strategy + (f" ({mapping})" if mapping else ""))
    counted_with = f"exact, tokenizer of {text.tokenizer}" if text.exact else text.tokenizer
    row(
        "Tokens",
        f"mean {stats.token_mean}, median {stats.token_median}, p95 {stats.token_p95}, "
        f"max {stats.token_max} ({counted_with})",
    )
    share = text.long_document_share or 0.0
    row(
        "Long documents",
        f"{share:.1%} of texts exceed the model's maximum; "
        + (
            "a long-document model is needed"
            if text.requires_long_document_model
            else "no long-document model needed"
        ),
    )
    console.print(overview)

    classes = Table(title="Classes", title_justify="left")
    classes.add_column("Label", overflow="fold")
    classes.add_column("Texts", justify="right")
    classes.add_column("Share", justify="right")
    total = sum(dataset.category_distribution.values()) or 1
    for label, count in dataset.category_distribution.items():
        classes.add_row(literal(label), f"{count:,}", f"{count / total:.1%}")
    console.print(classes)

    models = Table(title="Recommended models", title_justify="left")
    for column in ("Model", "Languages", "Max tokens", "Size", "Offline", "Notes"):
        models.add_column(column, overflow="fold")
    for recommendation in analysis.recommendations:
        info = recommendation.model
        models.add_row(
            literal(info.model_id),
            "any" if info.multilingual else ", ".join(info.languages),
            f"{info.max_tokens:,}",
            info.size,
            "yes" if recommendation.offline else "no (needs a download)",
            literal(info.description),
        )
    console.print(models)
    for warning in analysis.warnings:
        console.print(literal(f"warning: {warning}", style="yellow"))

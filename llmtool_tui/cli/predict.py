"""``llmtool-tui predict``: run a session's best model over a file of new texts.

The request is checked first (``Engine.plan_prediction``: one line and exit 2 for a session with
no best model, an output that is the input, a missing text column, an unreadable file; nothing
is written). The prediction then runs in this process (``Engine.predict``) with a progress bar
(rows, rows/s, ETA). Ctrl-C, or a kill, keeps the chunks already predicted: the same command
continues from them. When the file holds the session's label column, the predictions are scored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.facade import Engine
from llmtool_tui.cli import engine_for
from llmtool_tui.cli.sessions import add_session_argument
from llmtool_tui.untrusted import json_text, literal, visible

if TYPE_CHECKING:
    from engine.prediction.output import Evaluation
    from engine.prediction.plan import PredictionPlan
    from engine.prediction.runner import PredictionResult
    from engine.prediction.status import PredictionStatus

EXIT_INTERRUPTED = 130


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the ``predict`` command."""
    predict = subparsers.add_parser(
        "predict",
        parents=[common],
        help="predict the labels of new texts with a session's best model",
        description=(
            "Run the best model of a completed session over FILE (any format the analysis"
            " reads) and write OUT: the input's columns, then the predictions (single-label:"
            " predicted_label and predicted_probability; multi-label: predicted_labels over"
            " the threshold and a probability_<label> column per label). Stopped (Ctrl-C, a"
            " kill), the same command continues where it stopped. When FILE holds the"
            " session's label column, macro F1, accuracy and per-class F1 are printed."
            " Exit 0 written, 1 failed, 2 bad input, 130 stopped."
        ),
    )
    add_session_argument(predict)
    predict.add_argument("file", metavar="FILE", type=Path, help="the texts to predict")
    predict.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        type=Path,
        help="output file, .csv, .jsonl or .parquet (default: FILE's folder,"
        " <name>.predictions.<ext>)",
    )
    predict.add_argument(
        "--text-column", metavar="C", help="column of the texts (default: the session's)"
    )
    predict.add_argument("--batch-size", type=int, metavar="N", help="texts per batch (default 32)")
    predict.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="multi-label: the probability over which a label is given (default 0.5)",
    )
    predict.add_argument(
        "--json", action="store_true", help="print the result as JSON (no progress bar)"
    )
    predict.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Plan, run and report one prediction. Returns the exit code."""
    engine = engine_for(args)
    plan = engine.plan_prediction(
        engine.store.resolve(args.session),
        args.file,
        args.output,
        text_column=args.text_column,
        batch_size=args.batch_size,
        threshold=args.threshold,
    )
    try:
        result = engine.predict(plan) if args.json else _with_progress_bar(engine, plan)
    except KeyboardInterrupt:
        print(
            visible(
                f"stopped: the rows predicted so far are kept in {plan.job_dir}; run the same"
                " command again to continue"
            ),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.json:
        print(json_text(result.to_json()))
    else:
        _print_result(plan, result)
    return 0


def _with_progress_bar(engine: Engine, plan: PredictionPlan) -> PredictionResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # markup=False: the description names the file, which may hold anything.
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[speed]}", markup=False),
        transient=False,
    )
    task = progress.add_task(
        visible(f"predicting {plan.file.name}"), total=plan.rows, speed="starting"
    )

    def show(status: PredictionStatus) -> None:
        progress.update(task, completed=status.rows_done, speed=status.speed_words())

    with progress:
        return engine.predict(plan, progress=show)


def _print_result(plan: PredictionPlan, result: PredictionResult) -> None:
    kept = (
        f"; {result.status.chunks_reused} of {result.status.chunks_total} chunks came from the"
        " stopped run"
        if result.status.chunks_reused
        else ""
    )
    print(
        visible(
            f"predicted {plan.rows:,} rows of {plan.file.name} with {plan.session_id}'s best"
            f" model in {result.duration_s:.1f} s: {plan.output}{kept}"
        )
    )
    if result.evaluation is not None:
        _print_evaluation(result.evaluation)


def _print_evaluation(evaluation: Evaluation) -> None:
    from rich.console import Console
    from rich.table import Table

    unknown = (
        f" ({evaluation.unknown_label_rows:,} rows with labels the model does not know left out)"
        if evaluation.unknown_label_rows
        else ""
    )
    print(
        visible(
            f"against the file's labels, {evaluation.rows:,} rows: macro F1"
            f" {evaluation.macro_f1:.4f}, accuracy {evaluation.accuracy:.4f}{unknown}"
        )
    )
    table = Table("Class", "F1")
    for label, f1 in evaluation.per_class_f1.items():
        # Labels come from the session's file.
        table.add_row(literal(label), f"{f1:.4f}")
    Console().print(table)

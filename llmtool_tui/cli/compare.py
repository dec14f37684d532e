"""``llmtool-tui compare``: sessions side by side, as the app's compare view shows them.

Results first (best F1, the evaluation it came from, per-class F1), then the parameters whose
values differ (``--all``: every parameter, those that differ marked ``≠``); ``--json`` gives the
whole comparison, curves included. The same ``Engine.compare`` as the app. A session file that
cannot be read is named on stderr, the others are compared, and the exit code is 2.
"""

from __future__ import annotations

import argparse

from rich import box
from rich.console import Console
from rich.table import Table

from engine.comparison import ComparedRow, Comparison
from engine.details import MULTI_LINE_ROWS
from engine.errors import BadInputError
from llmtool_tui.cli import engine_for, error
from llmtool_tui.cli.sessions import print_json
from llmtool_tui.untrusted import literal


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the ``compare`` command."""
    compare = subparsers.add_parser(
        "compare",
        parents=[common],
        help="compare sessions side by side: results, differing parameters",
        description=(
            "Compare two or more sessions: their best F1 and per-class F1 at the best evaluation,"
            " then the parameters whose values differ (ids, paths and times, which always"
            " differ, are left out). Exit 0, or 2 when a session cannot be found or read (the"
            " others are still compared)."
        ),
    )
    compare.add_argument(
        "sessions",
        metavar="SESSION",
        nargs="+",
        help="session ids, metadata file names or paths, or history numbers (two or more)",
    )
    compare.add_argument(
        "--all",
        action="store_true",
        help="every parameter, those that differ marked ≠ (default: only those that differ)",
    )
    compare.add_argument(
        "--json", action="store_true", help="print the whole comparison (curves included) as JSON"
    )
    compare.set_defaults(handler=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    """``llmtool-tui compare SESSION SESSION...``. Returns the exit code."""
    if len(args.sessions) < 2:
        raise BadInputError(
            f"compare needs two or more sessions (got {len(args.sessions)}); name another one,"
            " e.g. `llmtool-tui compare 1 2`"
        )
    engine = engine_for(args)
    paths = [engine.store.resolve(session) for session in args.sessions]
    comparison = engine.compare(paths)
    if args.json:
        print_json(comparison.to_json())
        return 0
    console = Console(highlight=False)
    if comparison.shown:
        console.print(comparison_table(comparison, every_parameter=args.all))
        differing, comparable = len(comparison.differing), len(comparison.comparable)
        more = "" if args.all else "; `--all` shows every one"
        console.print(f"{differing} of {comparable} parameters differ (≠){more}.")
    unreadable = False
    for session in comparison.sessions:
        if session.error:
            # A progress file that cannot be read leaves the session's metadata to compare; a
            # session file that cannot be read leaves nothing: refused like a bad SESSION.
            error(f"{session.label}: {session.error}")
            unreadable = unreadable or not session.readable
    return 2 if unreadable else 0


def comparison_table(comparison: Comparison, *, every_parameter: bool) -> Table:
    """Results, then the differing parameters (every one with ``every_parameter``)."""
    table = Table(box=box.SQUARE, title="Compare Sessions", title_justify="left")
    table.add_column("Parameter", overflow="fold")
    for session in comparison.shown:
        table.add_column(literal(session.label), overflow="fold")
    parameters = comparison.parameters if every_parameter else comparison.differing

    def add(row: ComparedRow, *, end_section: bool = False) -> None:
        top = row.top
        scores = row.scores or (None,) * len(row.values)
        table.add_row(
            # Class names (F1 <class>) come from the sessions' files.
            literal(f"≠ {row.name}" if row.differs else f"  {row.name}"),
            *(
                literal(
                    value,
                    "bold" if top is not None and score == top else "",
                    multiline=row.name in MULTI_LINE_ROWS,
                )
                for value, score in zip(row.values, scores, strict=True)
            ),
            end_section=end_section,
        )

    for position, row in enumerate(comparison.results):
        add(row, end_section=position == len(comparison.results) - 1 and bool(parameters))
    for row in parameters:
        add(row)
    return table

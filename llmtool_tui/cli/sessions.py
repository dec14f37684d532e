"""Headless ``sessions``, ``show`` and ``schema`` commands: the history as data."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from engine.details import MULTI_LINE_ROWS
from engine.errors import BadInputError
from engine.filters import parse_filter
from engine.history import best_f1_first, f1_label, status_label
from engine.schema import metadata_json_schema
from engine.store import DEFAULT_LIMIT
from llmtool_tui.cli import engine_for
from llmtool_tui.untrusted import json_text, literal

STATUS_STYLES = {
    "completed": "green",
    "failed": "red",
    "pending": "yellow",
    "running": "cyan",
    "starting": "cyan",
    "interrupted": "magenta",
    "stale": "dim",
}


SORTS = ("newest", "best-f1")


def add_session_argument(parser: argparse.ArgumentParser) -> None:
    """The SESSION argument of the commands that act on one session."""
    parser.add_argument(
        "session",
        metavar="SESSION",
        help="session id, metadata file name or path, or history number",
    )


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the commands to the parser."""
    sessions = subparsers.add_parser(
        "sessions", parents=[common], help="list training sessions, newest first"
    )
    amount = sessions.add_mutually_exclusive_group()
    amount.add_argument("--all", action="store_true", help="list every session")
    amount.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"list the N most recent sessions (default {DEFAULT_LIMIT})",
    )
    sessions.add_argument(
        "--filter",
        metavar="QUERY",
        help='filter across all sessions, e.g. "status:failed model:camembert after:2026-01-01"',
    )
    sessions.add_argument(
        "--sort",
        choices=SORTS,
        default="newest",
        help="order of the sessions listed: newest first (the default: last training activity;"
        " notes and tags do not count) or best F1 first, sessions without one last; their"
        " history numbers stay",
    )
    sessions.add_argument("--json", action="store_true", help="print JSON")
    sessions.set_defaults(handler=run_sessions)

    show = subparsers.add_parser("show", parents=[common], help="show one session's parameters")
    add_session_argument(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)

    schema = subparsers.add_parser(
        "schema", parents=[common], help="print the JSON Schema of the metadata document"
    )
    schema.set_defaults(handler=run_schema)


def print_json(data: Any, *, indent: int | None = 2) -> None:
    """``data`` as JSON on stdout: exact, with no character a terminal would obey."""
    sys.stdout.write(json_text(data, indent=indent) + "\n")


def run_sessions(args: argparse.Namespace) -> int:
    """``llmtool-tui sessions``."""
    if args.limit < 1:
        raise BadInputError(f"--limit must be at least 1 (got {args.limit}); or use --all")
    engine = engine_for(args)
    session_filter = parse_filter(args.filter) if args.filter else None
    history = engine.history(limit=None if args.all else args.limit, session_filter=session_filter)
    if args.sort == "best-f1":
        history = replace(history, rows=best_f1_first(history.rows))
    if args.json:
        # One line: a listing of thousands of sessions is read by programs (jq indents it).
        print_json(history.to_json(), indent=None)
        return 0
    # Imported for the tables only: `--json` output, read by scripts, starts 25 ms sooner.
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not history.directory_exists:
        console.print(
            f"No training sessions found: {engine.workspace.sessions_dir} does not exist yet.\n"
            "Start one with `llmtool-tui train DATASET` or `llmtool-tui` (New Training Session)."
        )
        return 0
    shown = "all" if args.all else f"{args.limit} most recent"
    if session_filter is not None:
        shown = f"filter: {session_filter.describe()}"
    # No vertical rules: at 80 columns they would take the room of a name.
    table = Table(
        title=f"Previous Training Sessions ({shown})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    # Names fold; the short columns do not, so that a status or a date stays on one line.
    for column in ("#", "Date", "Mode", "Dataset", "Model", "Status", "Best F1"):
        table.add_column(
            column,
            overflow="fold",
            no_wrap=column not in ("Dataset", "Model"),
            justify="right" if column == "Best F1" else "left",
        )
    # A local model by its directory's name, as in the app; `--json` gives its whole path.
    for row in history.sessions:
        table.add_row(
            str(row.index),
            row.date,
            row.mode,
            literal(row.dataset),
            literal(row.model_name),
            Text(status_label(row.status), style=STATUS_STYLES.get(row.status, "")),
            f1_label(row.best_f1),
        )
    if history.sessions:
        console.print(table)
    else:
        console.print(f"No training sessions found in {engine.workspace.sessions_dir}.")
    for unreadable in history.unreadable:
        console.print(
            literal(f"unreadable: {unreadable.path.name}: {unreadable.error}", style="red")
        )
    if session_filter is None and history.total_files > len(history.sessions) + len(
        history.unreadable
    ):
        console.print(f"{history.total_files} files in all; `--all` lists every one.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``llmtool-tui show SESSION``."""
    engine = engine_for(args)
    view = engine.inspect(engine.store.resolve(args.session))
    if args.json:
        print_json(view.to_json())
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="Selected Session Details", title_justify="left")
    table.add_column("Parameter")
    table.add_column("Value", overflow="fold")
    for name, value in view.detail_rows():
        table.add_row(name, literal(value, multiline=name in MULTI_LINE_ROWS))
    console.print(table)
    return 0


def run_schema(args: argparse.Namespace) -> int:
    """``llmtool-tui schema``."""
    print_json(metadata_json_schema())
    return 0

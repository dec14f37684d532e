"""``llmtool-tui stop``: stop a running session's worker from the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from engine.errors import BadInputError
from engine.store import SessionStore
from engine.supervisor import DEFAULT_GRACE_S, stop_worker
from engine.workspace import Workspace
from llmtool_tui.cli.sessions import add_session_argument


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``stop`` command."""
    stop = subparsers.add_parser(
        "stop",
        parents=[common],
        help="stop a running training (SIGTERM, then SIGKILL after the grace period)",
        description=(
            "Ask a session's worker to checkpoint and stop (SIGTERM); kill it (SIGKILL) if it is"
            " still running after the grace period, and mark the session interrupted."
            " Exit 0 when stopped or already not running, 1 when it could not be stopped"
            " (another host, permission, stuck process), 2 for bad input."
        ),
    )
    add_session_argument(stop)
    stop.add_argument(
        "--grace",
        metavar="S",
        type=float,
        default=DEFAULT_GRACE_S,
        help=f"seconds to wait after SIGTERM before SIGKILL (default {DEFAULT_GRACE_S:g})",
    )
    stop.add_argument("--json", action="store_true", help="print the outcome as JSON")
    stop.set_defaults(handler=run_stop)


def run_stop(args: argparse.Namespace) -> int:
    """Stop the session named by ``args.session``. Returns the exit code."""
    if not math.isfinite(args.grace) or args.grace < 0:
        raise BadInputError(f"--grace must be a number of seconds >= 0, not {args.grace:g}")
    store = SessionStore(Workspace.resolve(getattr(args, "workspace", None)))
    path = store.resolve(args.session)
    report = stop_worker(store, path, grace_s=args.grace)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.stopped:
        print(report.message)
    else:
        print(f"llmtool-tui: error: {report.message}", file=sys.stderr)
    return 0 if report.stopped else 1

"""``llmtool-tui stop``: stop a running session's worker from the command line."""

from __future__ import annotations

import argparse
import math

from engine.errors import BadInputError
from engine.liveness import STOP_GRACE_S
from llmtool_tui.cli import engine_for, error
from llmtool_tui.cli.sessions import add_session_argument
from llmtool_tui.untrusted import json_text, visible


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the ``stop`` command."""
    stop = subparsers.add_parser(
        "stop",
        parents=[common],
        help="stop a running training (SIGTERM, then SIGKILL after the grace period)",
        description=(
            "Ask a session's worker to checkpoint and stop (SIGTERM); kill it (SIGKILL) if it is"
            " still running after the grace period, and mark the session interrupted."
            " Only a process that is provably the session's worker (same start time, and its"
            " command line runs the worker on this session's file) is ever signalled."
            " Exit 0 when stopped, 2 when there was nothing here to stop (not running, no"
            " provable worker, another host) or for bad input, 1 when it could not be stopped"
            " (permission, stuck process)."
        ),
    )
    add_session_argument(stop)
    stop.add_argument(
        "--grace",
        metavar="S",
        type=float,
        default=STOP_GRACE_S,
        help=f"seconds to wait after SIGTERM before SIGKILL (default {STOP_GRACE_S:g})",
    )
    stop.add_argument("--json", action="store_true", help="print the outcome as JSON")
    stop.set_defaults(handler=run_stop)


def run_stop(args: argparse.Namespace) -> int:
    """Stop the session named by ``args.session``. Returns the exit code."""
    if not math.isfinite(args.grace) or args.grace < 0:
        raise BadInputError(f"--grace must be a number of seconds >= 0, not {args.grace:g}")
    engine = engine_for(args)
    report = engine.stop(engine.store.resolve(args.session), grace_s=args.grace)
    if args.json:
        print(json_text(report.to_json()))
    elif report.stopped:
        print(visible(report.message))
    else:
        error(report.message)
    if report.stopped:
        return 0
    return 2 if report.refused else 1

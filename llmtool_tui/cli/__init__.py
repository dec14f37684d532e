"""The ``llmtool-tui`` command line: the app without a subcommand, headless commands with one.

Each command group lives in its own module with a ``register(subparsers, common)`` function.
Modules are imported lazily per command so that ``llmtool-tui sessions`` never pays for torch,
and ``llmtool-tui`` (the app) starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engine.errors import BadInputError, OperationError
from engine.facade import Engine, default_engine
from engine.files import expand_user
from engine.store import MetadataError, SessionNotFoundError, StoreError, usable_cpus
from engine.workspace import WORKSPACE_ENV, Workspace
from llmtool_tui.untrusted import visible

PROG = "llmtool-tui"
#: The exit code of a command whose reader went away (``| head``): the one of the Python
#: documentation's recipe, which Rich's console (the tables) also exits with.
BROKEN_PIPE_EXIT = 1

#: command name -> module under llmtool_tui.cli that registers it.
COMMANDS: dict[str, str] = {
    "serve": "serve",
    "sessions": "sessions",
    "show": "sessions",
    "schema": "sessions",
    "analyze": "analyze",
    "train": "training",
    "resume": "training",
    "relaunch": "training",
    "demo-model": "training",
    "stop": "control",
    "notes": "annotations",
    "tags": "annotations",
    "compare": "compare",
    "predict": "predict",
    "export": "manage",
    "import": "manage",
    "cleanup": "manage",
}


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps a value given before the subcommand from being reset by the subparser's
    # default, so --workspace works on either side of the subcommand.
    common.add_argument(
        "--workspace",
        "-w",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"workspace whose logs/ is used (default: ${WORKSPACE_ENV}, else the current dir)",
    )
    return common


def build_parser(command: str | None = None, *, commands: bool = True) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that command's module is imported; without
    ``commands``, none: the parser of the app's own options (``--workspace``, ``--poll``)."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Training Studio for transformer text classifiers, with save/resume.",
        parents=[common],
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        default=argparse.SUPPRESS,
        help="poll the sessions folder instead of inotify (network filesystems)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if not commands:
        return parser
    modules = [COMMANDS[command]] if command in COMMANDS else sorted(set(COMMANDS.values()))
    for module_name in modules:
        module = importlib.import_module(f"llmtool_tui.cli.{module_name}")
        module.register(subparsers, common)
    return parser


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of a command line: the modules of its command only, and none for the app.

    Registering every command imports every command's module (the metadata models among
    them): 0.26 s that the app's first frame waited for. Only a help without a command (or an
    unknown command, which the error lists) needs them all.
    """
    command = _first_command(argv)
    if command is None and not any(arg in ("-h", "--help") for arg in argv):
        return build_parser(commands=False)
    return build_parser(command)


def _first_command(argv: Sequence[str]) -> str | None:
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--workspace", "-w"):
            skip_next = True
            continue
        if not arg.startswith("-"):
            return arg
    return None


def engine_for(args: argparse.Namespace) -> Engine:
    """The engine of a command's ``--workspace`` (or its default).

    A command runs no other thread: the first full listing of a large workspace may validate
    its files in a process per CPU (the app's engine keeps to one).
    """
    return Engine(
        Workspace.resolve(getattr(args, "workspace", None)),
        poll=getattr(args, "poll", False),
        listing_processes=usable_cpus(),
    )


def error(message: str) -> None:
    """Print a one-line error on stderr, escaped: errors name files, ids and columns."""
    print(f"{PROG}: error: {visible(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = parser_for(args_list)
    args = parser.parse_args(args_list)
    workspace = getattr(args, "workspace", None)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            if workspace is not None and not expand_user(workspace).is_dir():
                raise BadInputError(
                    f"workspace {workspace} does not exist; create it or pass an existing"
                    " --workspace"
                )
            engine = default_engine(workspace, poll=getattr(args, "poll", False))
            # Forked before the interface is imported: the history's window is listed on
            # another CPU while the app starts (engine.first_listing).
            first_listing = engine.list_in_background()
            from llmtool_tui.app import run_app

            return run_app(engine, first_listing)
        code = int(handler(args) or 0)
        # Flushed here, not at exit: a reader gone by then would get a traceback from the
        # interpreter's own flush.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_EXIT
    except (BadInputError, SessionNotFoundError, MetadataError) as exc:
        error(str(exc))
        return 2
    except (OperationError, StoreError) as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader closed the pipe (``| head``), and what is still
    buffered would raise again at exit (the recipe of the ``signal`` module's documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def entry() -> None:
    """Console-script wrapper: exit with main()'s code."""
    sys.exit(main())

"""Headless ``export``, ``import`` and ``cleanup`` commands: templates and archiving."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cleanup import ARCHIVABLE_STATUSES, CleanupPlan, CleanupResult, parse_duration
from engine.errors import BadInputError
from engine.facade import Engine
from engine.files import expand_user
from llmtool_tui.cli import PROG, engine_for, error
from llmtool_tui.cli.sessions import add_session_argument, print_json
from llmtool_tui.untrusted import visible


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the commands to the parser."""
    export = subparsers.add_parser(
        "export",
        parents=[common],
        help="write a session's configuration as a shareable template (no machine-specific data)",
    )
    add_session_argument(export)
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write the template to FILE (default: print it)"
    )
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    export.set_defaults(handler=run_export)

    import_ = subparsers.add_parser(
        "import",
        parents=[common],
        help="make a new pending session from a template or a collaborator's metadata file",
    )
    import_.add_argument("file", metavar="FILE", help="template or metadata JSON file")
    import_.add_argument(
        "--dataset",
        metavar="PATH",
        help="the dataset's path here (default: the recorded file name, looked"
        " for next to FILE and in the workspace)",
    )
    import_.add_argument(
        "--model",
        metavar="PATH",
        action="append",
        default=[],
        dest="models",
        help="a model folder here, replacing the recorded model of its name (or the only one;"
        " repeatable). Run again with new paths to update a session imported already",
    )
    import_.add_argument("--json", action="store_true", help="print JSON")
    import_.set_defaults(handler=run_import)

    cleanup = subparsers.add_parser(
        "cleanup",
        parents=[common],
        help="move old sessions and their run folders to logs/archive/ (models are kept)",
    )
    cleanup.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="archive sessions last modified longer ago than AGE: 90d, 12h, 2w",
    )
    cleanup.add_argument(
        "--status", choices=ARCHIVABLE_STATUSES, help="archive only sessions with this status"
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="list what would be archived; move nothing"
    )
    cleanup.add_argument(
        "--include-unreadable",
        action="store_true",
        help="archive old files that cannot be read too",
    )
    cleanup.add_argument("--json", action="store_true", help="print JSON")
    cleanup.set_defaults(handler=run_cleanup)


def warn(message: str) -> None:
    """A one-line warning on stderr, escaped: warnings name keys and values from files.

    Markup needs no escaping: print() interprets none.
    """
    print(f"{PROG}: warning: {visible(message)}", file=sys.stderr)


def _existing_workspace(args: argparse.Namespace) -> Engine:
    engine = engine_for(args)
    if not engine.workspace.root.is_dir():
        raise BadInputError(
            f"workspace {engine.workspace.root} does not exist; create it or pass an existing"
            " --workspace"
        )
    return engine


def run_export(args: argparse.Namespace) -> int:
    """``llmtool-tui export SESSION [-o FILE]``."""
    engine = engine_for(args)
    path = engine.store.resolve(args.session)
    if args.output is None:
        exported = engine.export_template(path)
        for line in exported.cleaned.warnings():
            warn(line)
        print_json(exported.document)
        return 0
    output = expand_user(args.output)
    exported = engine.export_template(path, output, overwrite=args.force)
    for line in exported.cleaned.warnings():
        warn(line)
    print(f"exported {visible(exported.document['template']['exported_from'])} to {output}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """``llmtool-tui import FILE [--dataset PATH] [--model PATH ...]``."""
    engine = _existing_workspace(args)
    source = Path(args.file)
    dataset = Path(args.dataset) if args.dataset else None
    result = engine.import_template(source, dataset=dataset, models=[Path(m) for m in args.models])
    for line in result.warnings:
        warn(line)
    if args.json:
        print_json(result.to_json())
        return 0
    session = f"session {visible(result.session_id)} ({visible(str(result.path))})"
    if result.updated:
        print(f"{visible(source.name)} was imported already as {session}; its paths were updated")
    elif not result.created:
        print(f"{visible(source.name)} was imported already as {session}; nothing written")
        return 0
    else:
        print(f"imported {visible(source.name)} as {session}, status pending")
    found = "" if result.dataset_found else " (not found: locate it before training)"
    print(f"dataset: {visible(result.dataset or '-')}{found}")
    for model in result.models:
        missing = " (not on this machine)" if model in result.missing_models else ""
        print(f"model: {visible(model)}{missing}")
    if result.missing_models:
        print(
            f"give the model folders: {PROG} import {visible(str(source))} --model PATH"
            " (the session cannot train until then)"
        )
    return 0


def _print_plan(plan: CleanupPlan, *, done: CleanupResult | None) -> None:
    def where(path: Path) -> str:
        # File names in the sessions folder come from anyone who dropped a file there.
        return visible(plan.relative(path))

    when = (plan.now - plan.older_than).strftime("%Y-%m-%d %H:%M")
    which = f"{plan.status} session(s)" if plan.status else "session(s)"
    items = [archived.item for archived in done.archived] if done else plan.to_archive
    if items:
        verb = "Archived" if done else "Would archive"
        print(
            f"{verb} {len(items)} {which} last modified before {when}"
            f" (to {where(plan.workspace.archive_dir)}/):"
        )
        for item in items:
            run = f" + {where(item.run_dir)}/" if item.run_dir else ""
            label = visible(item.session_id or "(unreadable)")
            print(f"  {label}  {item.status or '-'}  {where(item.session_file)}{run}")
    else:
        print(f"No {which} last modified before {when} to archive.")
    kept = done.kept_models if done else plan.kept_models
    if kept:
        print("Kept trained models (never moved by cleanup; delete them yourself if unneeded):")
        for path in kept:
            print(f"  {where(path)}/")
    left = [*plan.protected, *plan.unreadable_left, *(done.skipped if done else [])]
    if left:
        print("Left in place:")
        for entry in left:
            print(f"  {where(entry.session_file)}: {visible(entry.reason)}")
    temps = done.temp_files_removed if done else len(plan.stale_temp_files)
    if temps:
        verb = "Removed" if done else "Would remove"
        print(f"{verb} {temps} stale temporary file(s) left by killed writers.")


def run_cleanup(args: argparse.Namespace) -> int:
    """``llmtool-tui cleanup --older-than AGE [--status S] [--dry-run] [--json]``."""
    older_than = parse_duration(args.older_than)
    engine = _existing_workspace(args)
    plan = engine.plan_cleanup(older_than, args.status, include_unreadable=args.include_unreadable)
    if args.dry_run:
        if args.json:
            print_json({"dry_run": True, **plan.to_json()})
        else:
            _print_plan(plan, done=None)
        return 0
    result = engine.apply_cleanup(plan)
    if args.json:
        print_json({"dry_run": False, **result.to_json()})
    else:
        _print_plan(plan, done=result)
    for line in result.errors:
        error(line)
    return 1 if result.errors else 0

"""``llmtool-tui notes`` and ``tags``: a session's annotations, as the app's ``n`` and ``t`` do.

Both save through ``Engine.save_notes``, as the app's dialogs do: under the file's lock, keeping a
running worker's concurrent updates, and tags normalised by ``engine.filters.normalize_tags``
(trimmed, empty and case-insensitive duplicates dropped), so that ``tag:`` filters find them.
Without an edit, each prints what the session has. The notes and tags come from a file anyone
may have written: shown through ``llmtool_tui.untrusted``.
"""

from __future__ import annotations

import argparse
import sys

from engine.errors import BadInputError
from engine.filters import normalize_tags
from llmtool_tui.cli import engine_for
from llmtool_tui.cli.sessions import add_session_argument, print_json
from llmtool_tui.untrusted import visible


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the ``notes`` and ``tags`` commands."""
    notes = subparsers.add_parser(
        "notes",
        parents=[common],
        help="print or replace a session's notes",
        description=(
            "Print the session's notes; with TEXT, replace them (TEXT may span several lines;"
            " - reads it from standard input)."
        ),
    )
    add_session_argument(notes)
    edit = notes.add_mutually_exclusive_group()
    edit.add_argument("text", metavar="TEXT", nargs="?", help="the new notes; - reads stdin")
    edit.add_argument("--clear", action="store_true", help="remove the notes")
    notes.add_argument("--json", action="store_true", help="print the notes as JSON")
    notes.set_defaults(handler=run_notes)

    tags = subparsers.add_parser(
        "tags",
        parents=[common],
        help="print, add or remove a session's tags",
        description=(
            "Print the session's tags, one a line; --add and --remove change them (the history's"
            " search and `sessions --filter tag:NAME` find them). A tag is trimmed and compared"
            " without case; commas separate tags."
        ),
    )
    add_session_argument(tags)
    tags.add_argument("--add", metavar="TAG", nargs="+", default=[], help="tags to add")
    removal = tags.add_mutually_exclusive_group()
    removal.add_argument("--remove", metavar="TAG", nargs="+", default=[], help="tags to remove")
    removal.add_argument("--clear", action="store_true", help="remove every tag (before --add)")
    tags.add_argument("--json", action="store_true", help="print the tags as JSON")
    tags.set_defaults(handler=run_tags)


def _notes_text(text: str) -> str:
    if text != "-":
        return text
    # What a file or a heredoc ends with is not part of the notes.
    return sys.stdin.read().rstrip("\n")


def run_notes(args: argparse.Namespace) -> int:
    """``llmtool-tui notes SESSION [TEXT | --clear]``."""
    engine = engine_for(args)
    path = engine.store.resolve(args.session)
    if args.text is None and not args.clear:
        metadata = engine.store.load(path)
    else:
        metadata = engine.save_notes(path, notes="" if args.clear else _notes_text(args.text))
    session_id = metadata.session_id
    if args.json:
        print_json({"session_id": session_id, "notes": metadata.notes})
    elif args.text is not None or args.clear:
        done = "Saved the notes of" if metadata.notes else "Removed the notes of"
        print(visible(f"{done} {session_id}."))
    elif metadata.notes:
        print(visible(metadata.notes, multiline=True))
    else:
        # On stderr: the output of `notes` is the notes, and there are none.
        print(
            visible(
                f"{session_id} has no notes; add some with `llmtool-tui notes {session_id} TEXT`"
            ),
            file=sys.stderr,
        )
    return 0


def _without(tags: list[str], removed: list[str], session_id: str) -> list[str]:
    """``tags`` less ``removed`` (compared without case, as the ``tag:`` filter does).

    Raises:
        BadInputError: a tag to remove is not one of the session's (a typo would otherwise pass
            unnoticed).
    """
    present = {tag.lower() for tag in tags}
    unknown = [tag for tag in removed if tag.lower() not in present]
    if unknown:
        having = f"its tags: {', '.join(tags)}" if tags else "it has none"
        raise BadInputError(
            f"{session_id} has no tag {unknown[0]!r} ({having}); nothing was changed"
        )
    gone = {tag.lower() for tag in removed}
    return [tag for tag in tags if tag.lower() not in gone]


def run_tags(args: argparse.Namespace) -> int:
    """``llmtool-tui tags SESSION [--add TAG...] [--remove TAG... | --clear]``."""
    engine = engine_for(args)
    path = engine.store.resolve(args.session)
    added, removed = normalize_tags(args.add), normalize_tags(args.remove)
    for option, given, kept in (("--add", args.add, added), ("--remove", args.remove, removed)):
        if given and not kept:
            raise BadInputError(f"{option} needs a tag that is not blank, e.g. {option} paper")
    metadata = engine.store.load(path)
    editing = bool(added or removed or args.clear)
    if editing:
        tags = [] if args.clear else _without(metadata.tags, removed, metadata.session_id)
        metadata = engine.save_notes(path, tags=[*tags, *added])
    session_id = metadata.session_id
    if args.json:
        print_json({"session_id": session_id, "tags": metadata.tags})
    elif editing:
        shown = ", ".join(metadata.tags)
        print(
            visible(
                f"Saved the tags of {session_id}: {shown}"
                if shown
                else f"Removed every tag of {session_id}."
            )
        )
    elif metadata.tags:
        for tag in metadata.tags:
            print(visible(tag))
    else:
        print(
            visible(
                f"{session_id} has no tags; add some with `llmtool-tui tags {session_id} --add TAG`"
            ),
            file=sys.stderr,
        )
    return 0

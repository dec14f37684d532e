"""Headless ``notes`` and ``tags``: the app's notes and tags dialogs as commands."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace
from llmtool_tui.cli import main
from tests.fakes import make_session, stamp


@pytest.fixture
def sessions(workspace: Workspace) -> list[Path]:
    """Three sessions, the first created the newest (history number 1)."""
    paths = [make_session(workspace, stamp(index)) for index in range(3)]
    for age, path in enumerate(reversed(paths)):
        os.utime(path, (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    return list(reversed(paths))


def run(workspace: Workspace, *args: str) -> int:
    return main([*args, "--workspace", str(workspace.root)])


def history_ids(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert run(workspace, "sessions", "--json") == 0
    return [row["session_id"] for row in json.loads(capsys.readouterr().out)["sessions"]]


def test_notes_are_printed_replaced_read_from_stdin_and_cleared(
    workspace: Workspace,
    sessions: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session_id = read_metadata(sessions[1]).session_id
    order = history_ids(workspace, capsys)

    # None yet: nothing on stdout (the notes), the hint on stderr.
    assert run(workspace, "notes", "2") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{session_id} has no notes; add some with `llmtool-tui notes {session_id} TEXT`" in (
        captured.err
    )

    assert run(workspace, "notes", session_id, "lr too high?\nrerun with 2e-5") == 0
    assert capsys.readouterr().out == f"Saved the notes of {session_id}.\n"
    assert read_metadata(sessions[1]).notes == "lr too high?\nrerun with 2e-5"
    assert run(workspace, "notes", str(sessions[1])) == 0
    assert capsys.readouterr().out == "lr too high?\nrerun with 2e-5\n"

    # From a heredoc or a file: its last newline is not part of the notes.
    monkeypatch.setattr("sys.stdin", io.StringIO("from a file\n[b]not markup[/b]\n"))
    assert run(workspace, "notes", "2", "-") == 0
    capsys.readouterr()
    assert run(workspace, "notes", "2", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "session_id": session_id,
        "notes": "from a file\n[b]not markup[/b]",
    }

    assert run(workspace, "notes", "2", "--clear") == 0
    assert capsys.readouterr().out == f"Removed the notes of {session_id}.\n"
    assert read_metadata(sessions[1]).notes == ""
    # Annotating moves no session in the history (its number stays the same).
    assert history_ids(workspace, capsys) == order


def test_notes_from_a_file_are_shown_escaped(
    workspace: Workspace, sessions: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "line one\n\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202eevil"
    SessionStore(workspace).update(
        sessions[0], lambda metadata: setattr(metadata, "notes", hostile)
    )
    assert run(workspace, "notes", "1") == 0
    out = capsys.readouterr().out
    assert out == "line one\n\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\u202eevil\n"
    assert run(workspace, "notes", "1", "--json") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert json.loads(out)["notes"] == hostile


def test_tags_are_added_removed_and_cleared_as_the_app_saves_them(
    workspace: Workspace, sessions: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    session_id = read_metadata(sessions[0]).session_id
    order = history_ids(workspace, capsys)
    assert run(workspace, "tags", "1") == 0
    assert "has no tags; add some with" in capsys.readouterr().err

    # Normalised as the tags dialog does: trimmed, split on commas, duplicates (any case) once.
    assert run(workspace, "tags", "1", "--add", " paper ", "baseline,  Paper", "fr  only") == 0
    assert capsys.readouterr().out == f"Saved the tags of {session_id}: paper, baseline, fr only\n"
    assert read_metadata(sessions[0]).tags == ["paper", "baseline", "fr only"]
    assert run(workspace, "tags", "1") == 0
    assert capsys.readouterr().out == "paper\nbaseline\nfr only\n"

    # Found by the history's filter, as a tag typed in the app is.
    assert run(workspace, "sessions", "--json", "--filter", "tag:paper") == 0
    found = json.loads(capsys.readouterr().out)["sessions"]
    assert [row["session_id"] for row in found] == [session_id]

    assert run(workspace, "tags", "1", "--remove", "PAPER", "--add", "camera-ready", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "session_id": session_id,
        "tags": ["baseline", "fr only", "camera-ready"],
    }
    assert run(workspace, "tags", "1", "--clear", "--add", "final") == 0
    assert read_metadata(sessions[0]).tags == ["final"]
    capsys.readouterr()
    assert run(workspace, "tags", "1", "--clear") == 0
    assert capsys.readouterr().out == f"Removed every tag of {session_id}.\n"
    assert read_metadata(sessions[0]).tags == []
    assert history_ids(workspace, capsys) == order


def test_tag_refusals_change_nothing_and_exit_2(
    workspace: Workspace, sessions: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workspace, "tags", "1", "--add", "paper") == 0
    capsys.readouterr()
    before = sessions[0].read_bytes()
    assert run(workspace, "tags", "1", "--remove", "papr", "--add", "x") == 2
    error = capsys.readouterr().err
    assert "has no tag 'papr' (its tags: paper); nothing was changed" in error
    assert run(workspace, "tags", "1", "--add", " , ") == 2
    assert "--add needs a tag that is not blank" in capsys.readouterr().err
    assert sessions[0].read_bytes() == before
    assert run(workspace, "tags", "9") == 2
    assert "no session #9 in the history" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run(workspace, "tags", "1", "--clear", "--remove", "paper")
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        run(workspace, "notes", "1", "text", "--clear")
    assert exit_info.value.code == 2

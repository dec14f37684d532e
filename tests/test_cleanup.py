"""Cleanup: old sessions and run folders move to the archive; models, running, recent ones stay."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import llmtool_tui.cli as cli
from engine.cleanup import apply_cleanup, parse_duration
from engine.errors import BadInputError
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from tests.fakes import IDLE_MODULE, idle_process, record_running

MakeMetadata = Callable[..., TrainingMetadata]
NOW = datetime.now()
DAY = 86_400.0


def _age(path: Path, days: float) -> None:
    moment = NOW.timestamp() - days * DAY
    os.utime(path, (moment, moment))


@dataclass
class Sessions:
    """A workspace holding one session of every kind cleanup must tell apart."""

    old_failed: Path
    old_completed: Path
    recent_failed: Path
    old_running: Path
    old_stale: Path
    old_unreadable: Path
    recent_unreadable: Path


@pytest.fixture(autouse=True)
def idle_stands_for_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine here, the command's too, takes ``tests.fakes.idle`` for the worker module."""
    monkeypatch.setattr("engine.facade.WORKER_MODULE", IDLE_MODULE)


@pytest.fixture
def sessions(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata
) -> Iterator[Sessions]:
    def session(stamp: str, status: str, days: float, **execution: object) -> Path:
        metadata = make_metadata(stamp, status=status)
        for name, value in execution.items():
            setattr(metadata.execution_status, name, value)
        path = store.create(metadata)
        _age(path, days)
        return path

    old_failed = session("20250101_000000", "failed", 100)
    run = workspace.run_dir("train_20250101_000000")
    (run / "checkpoints").mkdir(parents=True)
    (run / "progress.jsonl").write_text('{"event": "status"}\n')
    model = workspace.session_models_dir("train_20250101_000000") / "camembert-base"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights")
    old_completed = session("20250102_000000", "completed", 120)
    recent_failed = session("20250103_000000", "failed", 1)
    # A live local worker: a stand-in process running on its file, so that liveness confirms
    # it runs.
    old_running = session("20250104_000000", "pending", 100)
    # A silent run on another host: stale, and maybe alive there.
    old_stale = session(
        "20250105_000000",
        "running",
        100,
        host="elsewhere",
        pid=1,
        last_heartbeat_at=datetime(2025, 1, 5),
    )
    old_unreadable = store.directory / "broken_old.json"
    old_unreadable.write_text('{"training_session": ')
    _age(old_unreadable, 200)
    recent_unreadable = store.directory / "broken_recent.json"
    recent_unreadable.write_text("not json")
    with idle_process(old_running) as worker:
        record_running(workspace, old_running, worker)
        _age(old_running, 100)
        yield Sessions(
            old_failed,
            old_completed,
            recent_failed,
            old_running,
            old_stale,
            old_unreadable,
            recent_unreadable,
        )


def _files(root: Path) -> set[Path]:
    """Every file and folder under ``root``, but the locks and the listing's row index."""
    return {p for p in root.rglob("*") if not {".locks", ".cache"} & set(p.parts)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["90", "3mo", "", "-1d", "1.5d", "d"])
def test_bad_durations_are_named_errors(text: str) -> None:
    with pytest.raises(BadInputError, match=r"bad duration .* e\.g\. 90d, 12h or 2w"):
        parse_duration(text)


def test_plan_picks_old_sessions_and_moves_nothing(
    sessions: Sessions, workspace: Workspace
) -> None:
    before = _files(workspace.root)
    plan = Engine(workspace).plan_cleanup(timedelta(days=90), None, now=NOW)
    assert [item.session_file for item in plan.to_archive] == [
        sessions.old_failed,
        sessions.old_completed,
    ]
    assert plan.to_archive[0].run_dir == workspace.run_dir("train_20250101_000000")
    assert plan.to_archive[1].run_dir is None
    assert plan.kept_models == [workspace.session_models_dir("train_20250101_000000")]
    assert {left.session_file: left.reason for left in plan.protected} == {
        sessions.old_running: "running: never archived",
        sessions.old_stale: "stale: never archived",
    }
    assert [left.session_file for left in plan.unreadable_left] == [sessions.old_unreadable]
    assert _files(workspace.root) == before


def test_status_filter_uses_the_live_status(sessions: Sessions, workspace: Workspace) -> None:
    plan = Engine(workspace).plan_cleanup(timedelta(days=90), "failed", now=NOW)
    assert [item.session_file for item in plan.to_archive] == [sessions.old_failed]
    assert plan.protected == []
    with pytest.raises(BadInputError, match="running sessions are never archived"):
        Engine(workspace).plan_cleanup(timedelta(days=90), "running", now=NOW)


def test_apply_archives_sessions_and_runs_and_keeps_models(
    sessions: Sessions, workspace: Workspace, store: SessionStore
) -> None:
    # A plain store is accepted as well as the engine.
    result = apply_cleanup(Engine(store.workspace).plan_cleanup(timedelta(days=90), None, now=NOW))
    archive = workspace.archive_dir
    assert result.errors == []
    assert [a.session_file for a in result.archived] == [
        archive / "training_sessions" / sessions.old_failed.name,
        archive / "training_sessions" / sessions.old_completed.name,
    ]
    assert not sessions.old_failed.exists()
    assert not sessions.old_completed.exists()
    archived_run = archive / "training_runs" / "train_20250101_000000"
    assert result.archived[0].run_dir == archived_run
    assert (archived_run / "progress.jsonl").read_text() == '{"event": "status"}\n'
    assert (archived_run / "checkpoints").is_dir()
    assert not workspace.run_dir("train_20250101_000000").exists()
    model = workspace.session_models_dir("train_20250101_000000")
    assert (model / "camembert-base" / "model.safetensors").read_bytes() == b"weights"
    assert result.kept_models == [model]
    for kept in (
        sessions.recent_failed,
        sessions.old_running,
        sessions.old_stale,
        sessions.old_unreadable,
        sessions.recent_unreadable,
    ):
        assert kept.exists()
    ids = {s.session_id for s in Engine(workspace).history(limit=None).sessions}
    assert ids == {"train_20250103_000000", "train_20250104_000000", "train_20250105_000000"}


def test_unreadable_files_move_only_when_asked(sessions: Sessions, workspace: Workspace) -> None:
    plan = Engine(workspace).plan_cleanup(
        timedelta(days=90), "failed", now=NOW, include_unreadable=True
    )
    result = apply_cleanup(plan)
    moved = {a.item.session_file: a.session_file for a in result.archived}
    assert moved[sessions.old_unreadable] == (
        workspace.archive_dir / "training_sessions" / "broken_old.json"
    )
    assert sessions.recent_unreadable.exists()


def test_sessions_changed_since_the_plan_are_left(
    sessions: Sessions, workspace: Workspace, store: SessionStore
) -> None:
    plan = Engine(workspace).plan_cleanup(timedelta(days=90), None, now=NOW)
    store.update(sessions.old_failed, lambda m: setattr(m, "notes", "keep me"))
    sessions.old_completed.unlink()
    result = apply_cleanup(plan)
    assert result.archived == []
    assert {left.session_file: left.reason for left in result.skipped} == {
        sessions.old_failed: "modified since the plan",
        sessions.old_completed: "no longer exists",
    }
    assert sessions.old_failed.exists()
    assert workspace.run_dir("train_20250101_000000").is_dir()


def test_earlier_archives_are_never_overwritten(sessions: Sessions, workspace: Workspace) -> None:
    earlier = workspace.archive_dir / "training_sessions" / sessions.old_failed.name
    earlier.parent.mkdir(parents=True)
    earlier.write_text("an earlier archive")
    earlier_run = workspace.archive_dir / "training_runs" / "train_20250101_000000"
    earlier_run.mkdir(parents=True)
    result = apply_cleanup(Engine(workspace).plan_cleanup(timedelta(days=90), "failed", now=NOW))
    assert earlier.read_text() == "an earlier archive"
    assert result.archived[0].session_file == earlier.with_name(
        "training_metadata_20250101_000000_2.json"
    )
    assert result.archived[0].run_dir == earlier_run.with_name("train_20250101_000000_2")


def test_stale_temporary_files_are_removed(workspace: Workspace) -> None:
    stale = workspace.sessions_dir / ".training_metadata_x.json.1a2b3c4d.tmp"
    stale.write_text("{half a docu")
    _age(stale, 2 / 24)
    fresh = workspace.sessions_dir / ".training_metadata_y.json.5e6f7a8b.tmp"
    fresh.write_text("{being written")
    plan = Engine(workspace).plan_cleanup(timedelta(days=90), None, now=NOW)
    assert plan.stale_temp_files == [stale]
    assert plan.to_archive == []
    assert apply_cleanup(plan).temp_files_removed == 1
    assert not stale.exists()
    assert fresh.exists()


def test_cleanup_command_dry_run_then_real_run(
    sessions: Sessions, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", str(workspace.root)]
    before = _files(workspace.root)
    assert cli.main(["cleanup", "--older-than", "90d", "--dry-run", "--json", *ws]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True
    assert [item["session_id"] for item in plan["archive"]] == [
        "train_20250101_000000",
        "train_20250102_000000",
    ]
    assert plan["archive"][0]["run_dir"] == "logs/training_runs/train_20250101_000000"
    assert plan["kept_models"] == ["models/train_20250101_000000"]
    assert sorted(p["session_id"] for p in plan["protected"]) == [
        "train_20250104_000000",
        "train_20250105_000000",
    ]
    assert plan["unreadable_left"][0]["file"] == "logs/training_sessions/broken_old.json"
    assert _files(workspace.root) == before

    assert cli.main(["cleanup", "--older-than", "90d", "--dry-run", *ws]) == 0
    out = capsys.readouterr().out
    assert "Would archive 2 session(s)" in out
    assert "models/train_20250101_000000/" in out
    assert _files(workspace.root) == before

    assert cli.main(["cleanup", "--older-than", "13w", "--status", "failed", *ws]) == 0
    out = capsys.readouterr().out
    assert "Archived 1 failed session(s)" in out
    assert "Kept trained models" in out
    assert not sessions.old_failed.exists()

    assert cli.main(["cleanup", "--older-than", "90d", "--json", *ws]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [a["archived_to"] for a in result["archived"]] == [
        f"logs/archive/training_sessions/{sessions.old_completed.name}"
    ]
    assert result["kept_models"] == []


def test_cleanup_command_refuses_bad_input(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace", str(workspace.root)]
    assert cli.main(["cleanup", "--older-than", "3 months", *ws]) == 2
    assert "bad duration '3 months'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        cli.main(["cleanup", "--older-than", "90d", "--status", "running", *ws])
    assert caught.value.code == 2
    assert cli.main(["cleanup", "--older-than", "1d", "--workspace", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()

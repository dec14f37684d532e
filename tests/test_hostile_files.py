"""Trust no session file: a workspace of hostile files against every reader of ``logs/``.

Each kind of file below is dropped into ``logs/training_sessions/`` (a few into a run folder)
and put through the listing, ``show``, every command that takes a SESSION, ``import``, the
watcher, and the app (history, detail, live view, compare, quit). For every kind, nothing may
raise, hang (each call runs under a timeout), signal any process, write outside the workspace,
or let a control character reach the terminal.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.facade import Engine
from engine.liveness import current_host
from engine.watcher import SessionWatcher
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.cli import main
from llmtool_tui.screens import CompareScreen, DetailScreen, HistoryScreen, MonitorScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.deadlines import DEADLINE_S, finishes
from tests.fakes import session_metadata
from tests.pilots import terminal_output

ESCAPES = ("\x1b[2JCLR", "\x1b]0;TITLE\x07", "\x1b]52;c;SGVsbG8=\x07", "\u202eRLO", "\x9b1mC1")
#: Control characters that must never reach the terminal raw. Textual writes ESC sequences of
#: its own, so ESC is checked through the payloads above that carry it.
RAW_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


@dataclass
class Context:
    """What a kind's builder may use: the workspace, a place outside it, a foreign process."""

    workspace: Workspace
    outside: Path
    stranger: psutil.Process


def document(timestamp: str = "20250101_120000", **status: Any) -> dict[str, Any]:
    """A valid session document, its execution_status updated with ``status``."""
    data = session_metadata(timestamp).to_document()
    data["execution_status"].update(status)
    return data


def write_json(context: Context, name: str, data: Any) -> Path:
    path = context.workspace.sessions_dir / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_bytes(context: Context, name: str, data: bytes) -> Path:
    path = context.workspace.sessions_dir / name
    path.write_bytes(data)
    return path


def with_session_id(session_id: str) -> dict[str, Any]:
    data = document()
    data["training_session"]["session_id"] = session_id
    return data


def with_strings(text: str) -> dict[str, Any]:
    """Every place a string from the file is shown holds ``text``."""
    data = document(status="failed", error_message=f"error {text}", host=f"host{text}")
    data["training_session"]["session_id"] = f"train_hostile{text}"
    data["training_session"]["workflow"] = f"Training Studio {text}"
    data["dataset_config"]["primary_file"] = f"/data/set{text}.csv"
    data["dataset_config"]["text_column"] = f"text{text}"
    data["model_config"]["selected_model"] = f"model{text}"
    data["notes"] = f"notes {text}\nsecond line {text}"
    data["tags"] = [f"tag{text}"]
    data["collaborator"] = {f"key{text}": f"value{text}"}
    return data


def directory(context: Context, name: str) -> Path:
    path = context.workspace.sessions_dir / name
    path.mkdir()
    return path


def fifo(context: Context, name: str) -> Path:
    path = context.workspace.sessions_dir / name
    os.mkfifo(path)
    return path


def link(context: Context, name: str, target: Path | str) -> Path:
    path = context.workspace.sessions_dir / name
    path.symlink_to(target)
    return path


def unix_socket(context: Context, name: str) -> Path:
    path = context.workspace.sessions_dir / name
    # Bound where the path is short (AF_UNIX allows about 100 bytes), then moved in.
    with tempfile.TemporaryDirectory(dir="/tmp") as short:
        server = socket.socket(socket.AF_UNIX)
        server.bind(f"{short}/s")
        server.close()
        os.rename(f"{short}/s", path)
    return path


def outside_fifo(context: Context) -> Path:
    path = Path(tempfile.mkdtemp(dir=context.outside)) / "pipe.json"
    os.mkfifo(path)
    return path


def sparse(context: Context, name: str, size: int) -> Path:
    path = context.workspace.sessions_dir / name
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_extra(depth: int) -> str:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"d": value}
    data = document()
    data["collaborator"] = "PLACEHOLDER"
    text = json.dumps(data)
    # json.dumps itself would recurse: write the nesting by hand.
    return text.replace('"PLACEHOLDER"', '{"d": ' * depth + '"leaf"' + "}" * depth)


def running_as(pid: int, started_at: float | None, **more: Any) -> dict[str, Any]:
    return document(
        status="running",
        pid=pid,
        host=current_host(),
        process_started_at=started_at,
        started_at="2026-01-01T12:00:00+00:00",
        **more,
    )


def with_dataset(path: str) -> dict[str, Any]:
    data = document(status="interrupted")
    data["dataset_config"]["primary_file"] = path
    return data


def with_launch(context: Context) -> dict[str, Any]:
    return document(
        launch={
            "pid": context.stranger.pid,
            "host": current_host(),
            "process_started_at": context.stranger.create_time(),
            "launched_at": "2026-01-01T12:00:00",
        }
    )


def strings_kind(text: str) -> Callable[[Context, str], Path]:
    return lambda context, name: write_json(context, name, with_strings(text))


def progress_file_of(context: Context, session_id: str) -> Path:
    path = context.workspace.progress_file(session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def with_run_file(make: Callable[[Context, Path], None]) -> Callable[[Context, str], Path]:
    """A readable, running-looking session whose progress.jsonl is made by ``make``."""

    def build(context: Context, name: str) -> Path:
        session_id = f"train_runfile_{Path(name).stem}"
        path = write_json(context, name, with_session_id(session_id))
        make(context, progress_file_of(context, session_id))
        return path

    return build


Builder = Callable[[Context, str], Path]
M = "training_metadata_hostile.json"
KINDS: dict[str, Builder] = {
    # Odd filesystem objects.
    "fifo": lambda c, n: fifo(c, n),
    "directory": lambda c, n: (
        (c.workspace.sessions_dir / n).mkdir() or c.workspace.sessions_dir / n
    ),
    "dangling-link": lambda c, n: link(c, n, c.workspace.sessions_dir / "missing.json"),
    "link-to-dev-zero": lambda c, n: link(c, n, "/dev/zero"),
    "link-to-dev-tty": lambda c, n: link(c, n, "/dev/tty"),
    "link-loop": lambda c, n: link(c, n, c.workspace.sessions_dir / n),
    "socket": lambda c, n: unix_socket(c, n),
    "link-to-outside-fifo": lambda c, n: link(c, n, outside_fifo(c)),
    "link-to-outside-directory": lambda c, n: link(c, n, c.outside),
    "oversized-sparse": lambda c, n: sparse(c, n, 64 << 20),
    # Encodings and garbage.
    "empty": lambda c, n: write_bytes(c, n, b""),
    "whitespace": lambda c, n: write_bytes(c, n, b" \n\t "),
    "binary": lambda c, n: write_bytes(c, n, random.Random(7).randbytes(4096)),
    "utf-16": lambda c, n: write_bytes(c, n, json.dumps(document()).encode("utf-16")),
    "latin-1": lambda c, n: write_bytes(c, n, json.dumps(with_strings("é")).encode("latin-1")),
    "utf-8-bom": lambda c, n: write_bytes(c, n, b"\xef\xbb\xbf" + json.dumps(document()).encode()),
    "nul-in-strings": lambda c, n: write_json(c, n, with_strings("\x00")),
    # Huge, deep and odd values.
    "5000-digit-integer": lambda c, n: write_bytes(
        c, n, json.dumps(document()).replace('"pending"', '"pending", "x": ' + "9" * 5000).encode()
    ),
    "nested-arrays": lambda c, n: write_bytes(c, n, nested_arrays(200_000)),
    "nested-extra-section": lambda c, n: write_bytes(c, n, deep_extra(50_000).encode()),
    "nan": lambda c, n: write_bytes(
        c, n, json.dumps(document()).replace('"best_f1": null', '"best_f1": NaN').encode()
    ),
    "infinity": lambda c, n: write_bytes(
        c, n, json.dumps(document()).replace('"best_f1": null', '"best_f1": -Infinity').encode()
    ),
    "float-overflow": lambda c, n: write_bytes(
        c, n, json.dumps(document()).replace('"best_f1": null', '"best_f1": 1e400').encode()
    ),
    "duplicate-keys": lambda c, n: write_bytes(
        c,
        n,
        json.dumps(document()).replace('"pending"', '"pending", "status": "completed"').encode(),
    ),
    "lone-surrogate": lambda c, n: write_bytes(
        c, n, json.dumps(document()).replace('"notes": ""', '"notes": "\\ud800"').encode()
    ),
    "top-level-array": lambda c, n: write_json(c, n, [document()]),
    "top-level-null": lambda c, n: write_json(c, n, None),
    "wrong-types": lambda c, n: write_json(c, n, document() | {"execution_status": "running"}),
    "huge-notes": lambda c, n: write_json(c, n, document() | {"notes": "\x1b[2J" * 1_000_000}),
    "dates-off-the-clock": lambda c, n: write_json(
        c,
        n,
        document(
            status="running",
            host="gpu-node-7",
            last_heartbeat_at="0001-01-01T00:00:00",
            started_at="9999-12-31T23:59:59",
        ),
    ),
    # Hostile strings.
    **{f"strings-{index}": strings_kind(text) for index, text in enumerate(ESCAPES)},
    "markup-and-bel-cr-bs": lambda c, n: write_json(c, n, with_strings("[red]x[/red]\x07\r\x08")),
    "traversal-session-id": lambda c, n: write_json(c, n, with_session_id("../../../../tmp/x")),
    "absolute-session-id": lambda c, n: write_json(c, n, with_session_id("/etc/passwd")),
    "long-session-id": lambda c, n: write_json(c, n, with_session_id("train_" + "x" * 100_000)),
    "control-file-name": lambda c, n: write_json(
        c, "training_metadata_\x1b[2JNAME.json", document()
    ),
    # Processes that are not ours.
    "pid-1": lambda c, n: write_json(c, n, running_as(1, psutil.Process(1).create_time())),
    "foreign-process": lambda c, n: write_json(
        c, n, running_as(c.stranger.pid, c.stranger.create_time())
    ),
    "this-process": lambda c, n: write_json(
        c, n, running_as(os.getpid(), psutil.Process().create_time())
    ),
    "recycled-pid": lambda c, n: write_json(
        c, n, running_as(c.stranger.pid, c.stranger.create_time() - 3600)
    ),
    "no-start-time": lambda c, n: write_json(c, n, running_as(c.stranger.pid, None)),
    "pid-too-large": lambda c, n: write_json(c, n, running_as(2**40, 1.0)),
    "pid-negative": lambda c, n: write_json(c, n, running_as(-1, 1.0)),
    "remote-host": lambda c, n: write_json(
        c, n, document(status="running", host="gpu-node-7", pid=c.stranger.pid)
    ),
    "launch-of-a-foreign-process": lambda c, n: write_json(c, n, with_launch(c)),
    # Datasets that are not files.
    "dataset-fifo": lambda c, n: write_json(c, n, with_dataset(str(outside_fifo(c)))),
    "dataset-unknown-user": lambda c, n: write_json(c, n, with_dataset("~nosuchuser_xyz/d.csv")),
    "dataset-dev-zero": lambda c, n: write_json(c, n, with_dataset("/dev/zero")),
    # Run folders holding what is not a regular progress file.
    "progress-fifo": with_run_file(lambda c, p: os.mkfifo(p)),
    "progress-link-to-dev-zero": with_run_file(lambda c, p: p.symlink_to("/dev/zero")),
    "progress-link-outside": with_run_file(lambda c, p: p.symlink_to(c.outside / "target.txt")),
    "progress-endless-line": with_run_file(lambda c, p: p.write_bytes(b"{" * (3 << 20))),
    "progress-hostile-events": with_run_file(
        lambda c, p: p.write_text(
            "\n".join(
                [
                    '{"event": "step", "step": ' + "9" * 5000 + "}",
                    "[" * 100_000,
                    json.dumps({"event": "log", "message": "log \x1b[2JCLR \x1b]0;TITLE\x07"}),
                    json.dumps({"event": "step", "step": 1, "max_steps": 2, "model": "\u202eRLO"}),
                ]
            )
            + "\n"
        )
    ),
}


def files_outside(root: Path, workspace: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if Path(directory, d) != workspace]
        for name in names:
            path = Path(directory, name)
            st = path.lstat()
            found[str(path)] = (st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture
def stranger() -> Iterator[psutil.Process]:
    """An unrelated live process: a file naming it must never get it signalled."""
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield psutil.Process(process.pid)
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def no_signals(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every way of signalling a process, recorded instead of done (pid 1 is never at risk)."""
    sent: list[tuple[str, Any]] = []

    def recorder(name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            sent.append((name, args))

        return record

    monkeypatch.setattr(os, "kill", recorder("os.kill"))
    monkeypatch.setattr(os, "killpg", recorder("os.killpg"))
    for method in ("send_signal", "terminate", "kill"):
        monkeypatch.setattr(psutil.Process, method, recorder(f"Process.{method}"))
    return sent


@pytest.fixture
def no_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile file must never get a worker started."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a hostile session file got a worker launched")

    monkeypatch.setattr("engine.supervisor._start_process", refuse)


@pytest.fixture
def context(tmp_path: Path, stranger: psutil.Process) -> Context:
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    workspace.ensure()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_text("not to be written\n")
    return Context(workspace, outside, stranger)


def assert_terminal_safe(text: str, where: str) -> None:
    for payload in ESCAPES:
        assert payload not in text, f"{where}: {payload!r} reached the terminal raw"
    found = RAW_CONTROLS.search(text)
    assert found is None, (
        f"{where}: raw {found.group()!r} in {text[max(0, found.start() - 40) : found.end() + 40]!r}"
    )


def run_cli(
    capsys: pytest.CaptureFixture[str], workspace: Workspace, *args: str
) -> tuple[int, str, str]:
    code = finishes(lambda: main([*args, "--workspace", str(workspace.root)]), " ".join(args))
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (args, code, err)
    assert_terminal_safe(out, f"{args} stdout")
    assert_terminal_safe(err, f"{args} stderr")
    # An error is one line (naming the problem and the fix), never a traceback; warnings (an
    # import's missing dataset and model) are one line each.
    lines = err.strip().splitlines()
    assert "Traceback" not in err and all(line.startswith("llmtool-tui: ") for line in lines), err
    assert len([line for line in lines if line.startswith("llmtool-tui: error:")]) <= 1, err
    return code, out, err


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_command_survives_a_hostile_file(
    kind: str,
    context: Context,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_signals: list[tuple[str, Any]],
    no_launch: None,
) -> None:
    workspace = context.workspace
    # A well-formed session beside it, which must stay listed whatever the hostile file is.
    write_json(
        context,
        "training_metadata_20200101_000000.json",
        document("20200101_000000", status="completed"),
    )
    path = finishes(lambda: KINDS[kind](context, M), f"building {kind}")
    before = files_outside(tmp_path, workspace.root)

    code, out, _ = run_cli(capsys, workspace, "sessions", "--all", "--json")
    assert code == 0
    listing = json.loads(out)
    assert "train_20200101_000000" in {row["session_id"] for row in listing["sessions"]}
    assert run_cli(capsys, workspace, "sessions", "--all")[0] == 0
    assert run_cli(capsys, workspace, "sessions", "--filter", "status:running")[0] == 0
    assert run_cli(capsys, workspace, "cleanup", "--older-than", "1d", "--dry-run")[0] == 0

    reference = path.name
    for command in (
        ["show", reference],
        ["show", reference, "--json"],
        ["resume", reference, "--detach"],
        ["relaunch", reference, "--detach"],
        ["stop", reference, "--grace", "0.1"],
        ["export", reference, "-o", str(tmp_path / "exports" / f"{kind}.json")],
    ):
        run_cli(capsys, workspace, *command)
    run_cli(capsys, workspace, "import", str(path))

    # The other session is untouched and still shown; nothing was signalled; nothing outside
    # the workspace changed (exports go to their own folder, created by nobody: none written).
    assert run_cli(capsys, workspace, "show", "train_20200101_000000")[0] == 0
    assert no_signals == []
    assert context.stranger.is_running()
    assert files_outside(tmp_path, workspace.root) == before


async def test_the_watcher_reports_every_hostile_file(context: Context) -> None:
    workspace = context.workspace
    watcher = SessionWatcher(workspace.sessions_dir, step_ms=20, debounce_ms=50)
    seen: set[str] = set()
    names = {kind: f"training_metadata_{index:03d}.json" for index, kind in enumerate(KINDS)}

    async def collect() -> None:
        async for batch in watcher.changes():
            seen.update(entry.path.name for entry in [*batch.added, *batch.changed])

    task = asyncio.create_task(collect())
    try:
        await asyncio.wait_for(watcher.started.wait(), DEADLINE_S)
        await asyncio.sleep(0.2)
        created = set()
        for kind, name in names.items():
            path = await asyncio.to_thread(KINDS[kind], context, name)
            created.add(path.name)
        # Sockets and FIFOs raise inotify events too; everything that was created is reported,
        # each as a session or as an unreadable file with its reason.
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while not created <= seen:
            assert not task.done(), task.exception()
            assert asyncio.get_running_loop().time() < deadline, sorted(created - seen)
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_app_shows_a_workspace_of_hostile_files(
    context: Context, tmp_path: Path, no_signals: list[tuple[str, Any]], no_launch: None
) -> None:
    workspace = context.workspace
    for index, kind in enumerate(KINDS):
        await asyncio.to_thread(KINDS[kind], context, f"training_metadata_{index:03d}.json")
    before = files_outside(tmp_path, workspace.root)
    app = make_app(Engine(workspace), watch=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("1")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.history is not None,
            timeout=DEADLINE_S,
        )
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await pilot.press("a")  # every session, not only the 20 most recent
        table = history.query_one(SessionTable)
        await wait_until(pilot, lambda: len(table.shown_rows) > 20, timeout=DEADLINE_S)
        await pilot.pause()
        assert_terminal_safe(terminal_output(app), "history")
        readable = [row for row in table.shown_rows if row.index is not None]
        assert len(readable) >= 20
        # Each readable session's detail, and its live view.
        for row in readable:
            table.move_cursor(row=table.get_row_index(row.key))
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, DetailScreen) and app.screen.view is not None,
                timeout=DEADLINE_S,
            )
            await pilot.pause()
            assert_terminal_safe(terminal_output(app), f"detail of {row.session_id!r}")
            # The live view of the sessions whose strings or run folder are hostile.
            if "hostile" in row.session_id or "runfile" in row.session_id:
                await pilot.press("m")
                await wait_until(
                    pilot,
                    lambda: isinstance(app.screen, MonitorScreen) and app.screen.status is not None,
                    timeout=DEADLINE_S,
                )
                await pilot.pause(0.2)
                assert_terminal_safe(terminal_output(app), f"live view of {row.session_id!r}")
                await pilot.press("escape")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is history, timeout=DEADLINE_S)
        # Compare the first two readable sessions (marking moves the cursor down).
        table.move_cursor(row=table.get_row_index(readable[0].key))
        await pilot.press("space", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=DEADLINE_S)
        await pilot.pause(0.5)
        assert_terminal_safe(terminal_output(app), "compare")
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        await pilot.pause(0.5)
        assert_terminal_safe(terminal_output(app), "quit")
    assert no_signals == []
    assert context.stranger.is_running()
    assert files_outside(tmp_path, workspace.root) == before


def test_the_suite_holds_at_least_thirty_kinds() -> None:
    assert len(KINDS) >= 30
    assert all(callable(build) for build in KINDS.values())


@pytest.mark.parametrize("start", [None, "the process's own"], ids=["unrecorded", "forged"])
def test_stop_never_signals_pid_1(
    context: Context,
    capsys: pytest.CaptureFixture[str],
    no_signals: list[tuple[str, Any]],
    start: str | None,
) -> None:
    started = psutil.Process(1).create_time() if start else None
    path = write_json(context, M, running_as(1, started))
    code, _, err = run_cli(capsys, context.workspace, "stop", path.name, "--grace", "0")
    assert code == 2 and "nothing was signalled" in err, err
    assert no_signals == []


def test_stop_refuses_a_foreign_process_and_leaves_it_alive(
    context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    # No patching here: a real SIGTERM would end the stranger.
    stranger = context.stranger
    path = write_json(context, M, running_as(stranger.pid, stranger.create_time()))
    code, _, err = run_cli(capsys, context.workspace, "stop", path.name, "--grace", "0.1")
    assert code == 2 and "nothing was signalled" in err, err
    assert stranger.is_running() and stranger.status() != psutil.STATUS_ZOMBIE
    recorded = json.loads(path.read_text())["execution_status"]
    assert recorded["status"] == "interrupted"

"""Hostile session files against the CLI of a source tree: what each kind does, command by command.

For each kind of ``tests/test_hostile_files.py`` (``KINDS``, built by the builders of *this*
repository), a fresh workspace is made in a temporary folder: the hostile file, a well-formed
session beside it (``train_20200101_000000``, completed) and, for the kinds that name one, a
foreign ``sleep 300`` process. The CLI of the tree under test (``--tree DIR``, e.g. a
``git worktree`` of an older commit) then runs as a subprocess, with DIR first on
``PYTHONPATH`` so that its code shadows the editable install, ``HF_HUB_OFFLINE=1`` and a 15 s
timeout per command (the process group is killed on timeout):

    sessions --all --json, sessions --all, show FILE, show FILE --json,
    stop FILE --grace 0.1, resume FILE --detach, import PATH

Each (kind, command) gets one or more labels:

``ok`` exit 0; ``refused`` exit 2, ``error`` exit 1 (each followed by ``(N lines)`` when the
error is not one line); ``exit N`` / ``signal N`` any other end; ``traceback`` a traceback on
stderr; ``hang`` the timeout passed; ``raw-control`` stdout or stderr holds a raw ESC, BEL, BS,
CR, U+202E, C1 or other control character (the test's ``ESCAPES`` and ``RAW_CONTROLS``, plus ESC
and CR: none of these commands writes styling when its output is not a terminal);
``killed-foreign`` the foreign ``sleep`` ended; ``hid-others`` (``sessions --all --json`` only) it
failed or did not list ``train_20200101_000000``; ``launched`` a worker (any Python process
started by the command) was started, and killed at once; ``signalled`` a signal was sent to a
process that is neither the command itself, its descendants, a worker it launched nor the foreign
``sleep`` (pid 1, every process for pid -1, this script): such signals are recorded and **not
delivered** (the command sees success); ``wrote-outside`` a file outside the workspace (in the
temporary folder) appeared or changed.

The signal guard is a ``sitecustomize`` module put on the CLI's ``PYTHONPATH`` (so it also runs in
any worker the command launches). It wraps ``os.kill`` and ``os.killpg``, which every signal of
the CLI, psutil and subprocess goes through; signal 0, signals to missing pids and signals to the
processes above are passed on unchanged.

Run (from the repository root, with a checkout of the tree to measure)::

    git worktree add /tmp/before f5462be
    .venv/bin/python bench/hostile_kinds.py --tree /tmp/before --json before.json
    .venv/bin/python bench/hostile_kinds.py --tree . --kinds pid-1,fifo
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.workspace import Workspace  # noqa: E402
from tests.test_hostile_files import (  # noqa: E402
    ESCAPES,
    KINDS,
    RAW_CONTROLS,
    Context,
    document,
    files_outside,
    write_json,
)

TIMEOUT_S = 15.0
HOSTILE_NAME = "training_metadata_hostile.json"
OTHER_ID = "train_20200101_000000"
OTHER_NAME = "training_metadata_20200101_000000.json"
#: What the test forbids on a terminal, plus ESC itself and CR.
FORBIDDEN = re.compile(RAW_CONTROLS.pattern[:-1] + "\x1b\r]")
COLUMNS = ("sessions", "show", "stop", "resume", "import")

GUARD = '''"""Put here by bench/hostile_kinds.py: signals only reach the command's own processes."""

import json
import os
import sys

_LOG = os.environ.get("HOSTILE_KINDS_LOG")
if _LOG:
    _kill, _killpg = os.kill, os.killpg
    _TAG = os.environ["HOSTILE_KINDS_TAG"]
    _WORKSPACE = os.environ["HOSTILE_KINDS_WORKSPACE"]
    _STRANGER = int(os.environ["HOSTILE_KINDS_STRANGER"])

    def _note(**entry):
        entry["by"] = os.getpid()
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\\n")

    def _ours(pid):
        """The command itself, its descendants, a worker it launched, or the foreign sleep."""
        if pid in (os.getpid(), _STRANGER):
            return True
        import psutil

        try:
            if any(child.pid == pid for child in psutil.Process().children(recursive=True)):
                return True
            target = psutil.Process(pid)
            return (
                _WORKSPACE in " ".join(target.cmdline())
                or target.environ().get("HOSTILE_KINDS_TAG") == _TAG
            )
        except psutil.Error:
            return False

    def _group(pgid):
        import psutil

        members = []
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) == pgid:
                    members.append(process.pid)
            except OSError:
                pass
        return members

    def _exists(send, target):
        try:
            send(target, 0)
        except (OSError, OverflowError):
            return False
        return True

    def kill(pid, sig, /):
        if sig == 0 or pid == os.getpid() or (pid > 1 and not _exists(_kill, pid)):
            return _kill(pid, sig)
        delivered = pid > 1 and _ours(pid)
        _note(event="signal", call="kill", pid=pid, sig=int(sig), delivered=delivered)
        return _kill(pid, sig) if delivered else None

    def killpg(pgid, sig, /):
        if sig == 0 or (pgid > 1 and not _exists(_killpg, pgid)):
            return _killpg(pgid, sig)
        delivered = pgid > 1 and all(_ours(member) for member in _group(pgid))
        _note(event="signal", call="killpg", pid=pgid, sig=int(sig), delivered=delivered)
        return _killpg(pgid, sig) if delivered else None

    os.kill, os.killpg = kill, killpg
    _note(event="start", argv=sys.orig_argv)
'''


@dataclass
class Outcome:
    """One command's result."""

    args: list[str]
    labels: list[str] = field(default_factory=list)
    returncode: int | None = None
    seconds: float = 0.0
    stderr: list[str] = field(default_factory=list)
    stdout_bytes: int = 0
    stdout_head: str = ""
    signals: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)

    def cell(self) -> str:
        return ",".join(self.labels)


def exit_labels(returncode: int | None, stderr: str) -> list[str]:
    if returncode is None:
        return ["hang"]
    lines = len(stderr.strip().splitlines())
    if returncode < 0:
        label = f"signal {-returncode}"
    else:
        label = {0: "ok", 1: "error", 2: "refused"}.get(returncode, f"exit {returncode}")
    if returncode in (1, 2) and lines != 1:
        label += f"({lines} lines)"
    labels = [label]
    if "Traceback" in stderr:
        labels.append("traceback")
    return labels


def has_raw_control(data: bytes) -> bool:
    text = data.decode("utf-8", errors="replace")
    return any(payload in text for payload in ESCAPES) or FORBIDDEN.search(text) is not None


def kill_tagged(tag: str, workspace: str, keep: set[int]) -> list[str]:
    """Kill every process started with ``tag`` or naming ``workspace``; their command lines."""
    killed: list[str] = []
    for _ in range(3):  # again, for any child started while the last pass ran
        found = 0
        for process in psutil.process_iter():
            if process.pid in keep:
                continue
            try:
                cmdline = " ".join(process.cmdline())
                if process.environ().get("HOSTILE_KINDS_TAG") != tag and workspace not in cmdline:
                    continue
                process.kill()
            except psutil.Error:
                continue
            found += 1
            if cmdline not in killed:
                killed.append(cmdline)
        if not found:
            break
        time.sleep(0.2)
    return killed


def describe_signal(entry: dict[str, Any]) -> str:
    pid, name = entry["pid"], signal.Signals(entry["sig"]).name
    target = {1: "pid 1", 0: "own group", -1: "every process"}.get(pid, f"pid {pid}")
    if pid == os.getpid():
        target = "the bench script"
    if entry["call"] == "killpg":
        target = f"group {pid}"
    return f"{entry['call']} {target} {name} ({'delivered' if entry['delivered'] else 'blocked'})"


class Run:
    """One kind in one workspace against the tree under test."""

    def __init__(self, tree: Path, guard: Path, kind: str) -> None:
        self.tree, self.guard, self.kind = tree, guard, kind
        self.root = Path(tempfile.mkdtemp(prefix="hostile-kinds-"))
        self.workspace = Workspace(self.root / "ws")
        self.workspace.root.mkdir()
        self.workspace.ensure()
        outside = self.root / "outside"
        outside.mkdir()
        (outside / "target.txt").write_text("not to be written\n")
        self.stranger = subprocess.Popen(["sleep", "300"])
        self.foreign_gone = False
        self.hostile_status: str | None = None
        try:
            self.context = Context(self.workspace, outside, psutil.Process(self.stranger.pid))
            write_json(self.context, OTHER_NAME, document("20200101_000000", status="completed"))
            self.path = KINDS[kind](self.context, HOSTILE_NAME)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.stranger.poll() is None:
            self.stranger.kill()
        self.stranger.wait()
        kill_tagged("", str(self.workspace.root), {os.getpid()})
        shutil.rmtree(self.root, ignore_errors=True)

    def command(self, *args: str) -> tuple[Outcome, bytes]:
        tag = uuid.uuid4().hex
        log = self.guard / f"signals-{tag}.jsonl"
        env = dict(os.environ)
        env.update(
            PYTHONPATH=f"{self.tree}{os.pathsep}{self.guard}",
            HF_HUB_OFFLINE="1",
            HOSTILE_KINDS_LOG=str(log),
            HOSTILE_KINDS_TAG=tag,
            HOSTILE_KINDS_WORKSPACE=str(self.workspace.root),
            HOSTILE_KINDS_STRANGER=str(self.stranger.pid),
        )
        argv = [sys.executable, "-m", "llmtool_tui", *args, "--workspace", str(self.workspace.root)]
        before = files_outside(self.root, self.workspace.root)
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=self.tree,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=TIMEOUT_S)
            returncode: int | None = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            returncode = None
        outcome = Outcome(list(args), returncode=returncode)
        outcome.seconds = round(time.monotonic() - started, 2)
        stderr = err.decode("utf-8", errors="replace")
        lines = [ascii(line)[1:-1][:300] for line in stderr.splitlines()]
        # A traceback's first lines and its last (the exception).
        outcome.stderr = [*lines[:3], "...", *lines[-2:]] if len(lines) > 6 else lines
        outcome.stdout_bytes = len(out)
        outcome.stdout_head = ascii(out[:200].decode("utf-8", errors="replace"))[1:-1]
        outcome.labels = exit_labels(returncode, stderr)
        if has_raw_control(out) or has_raw_control(err):
            outcome.labels.append("raw-control")
        leftovers = kill_tagged(tag, str(self.workspace.root), {os.getpid(), self.stranger.pid})
        entries = []
        if log.exists():
            entries = [json.loads(line) for line in log.read_text().splitlines()]
            log.unlink()
        started_pythons = [
            " ".join(e["argv"]) for e in entries if e["event"] == "start" and e["by"] != process.pid
        ]
        outcome.launched = started_pythons + [c for c in leftovers if c not in started_pythons]
        if outcome.launched:
            outcome.labels.append("launched")
        signals = [e for e in entries if e["event"] == "signal"]
        outcome.signals = [describe_signal(e) for e in signals]
        if any(not e["delivered"] for e in signals):
            outcome.labels.append("signalled")
        if self.stranger.poll() is not None and not self.foreign_gone:
            self.foreign_gone = True
            outcome.labels.append("killed-foreign")
        if files_outside(self.root, self.workspace.root) != before:
            outcome.labels.append("wrote-outside")
        return outcome, out

    def listing(self) -> Outcome:
        outcome, out = self.command("sessions", "--all", "--json")
        try:
            data = json.loads(out)
            rows = data["sessions"]
            listed = {row["session_id"] for row in rows}
        except (ValueError, KeyError, TypeError):
            data, rows, listed = {}, [], set()
        if outcome.returncode != 0 or OTHER_ID not in listed:
            outcome.labels.append("hid-others")
        others = [row for row in rows if row.get("file") != OTHER_NAME]
        unreadable = [row for row in data.get("unreadable", []) if row.get("file") != OTHER_NAME]
        if others:
            self.hostile_status = ", ".join(str(row.get("status")) for row in others)
        elif unreadable:
            self.hostile_status = "unreadable"
        elif data:
            self.hostile_status = "not listed"
        return outcome

    def all_commands(self) -> list[Outcome]:
        name, path = self.path.name, str(self.path)
        outcomes = [self.listing()]
        for args in (
            ["sessions", "--all"],
            ["show", name],
            ["show", name, "--json"],
            ["stop", name, "--grace", "0.1"],
            ["resume", name, "--detach"],
            ["import", path],
        ):
            outcomes.append(self.command(*args)[0])
        return outcomes


def column(outcome: Outcome) -> str:
    return outcome.args[0]


def cells(outcomes: list[Outcome]) -> dict[str, str]:
    """One cell per column; two commands of one column that differ are shown as ``a / b``."""
    found: dict[str, list[str]] = {}
    for outcome in outcomes:
        found.setdefault(column(outcome), [])
        if outcome.cell() not in found[column(outcome)]:
            found[column(outcome)].append(outcome.cell())
    return {name: " / ".join(values) for name, values in found.items()}


def print_table(results: dict[str, dict[str, Any]]) -> None:
    rows = [("kind", "status listed", *COLUMNS)]
    for kind, result in results.items():
        shown = cells([Outcome(**o) for o in result["commands"]])
        rows.append((kind, str(result["hostile_status"]), *(shown.get(c, "") for c in COLUMNS)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(" | ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))


def code_location(tree: Path) -> list[str]:
    """Where the CLI's packages come from under the environment the commands get."""
    probe = "import engine, llmtool_tui; print(engine.__file__); print(llmtool_tui.__file__)"
    env = dict(os.environ, PYTHONPATH=str(tree))
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def measure(tree: Path, kinds: list[str]) -> dict[str, dict[str, Any]]:
    location = code_location(tree)
    if len(location) != 2 or not all(Path(p).is_relative_to(tree) for p in location):
        sys.exit(f"the CLI's code does not come from {tree}: {location}")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hostile-kinds-guard-") as guard:
        Path(guard, "sitecustomize.py").write_text(GUARD, encoding="utf-8")
        for kind in kinds:
            run = Run(tree, Path(guard), kind)
            try:
                outcomes = run.all_commands()
            finally:
                run.close()
            results[kind] = {
                "hostile_status": run.hostile_status,
                "commands": [o.__dict__ for o in outcomes],
            }
            labels = " ".join(f"{' '.join(o.args[:1])}={o.cell()}" for o in outcomes)
            print(f"{kind}: {labels}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="source tree whose CLI to run")
    parser.add_argument("--kinds", help="comma-separated kinds (default: all)")
    parser.add_argument("--json", type=Path, help="write the results here")
    options = parser.parse_args()
    tree = options.tree.resolve()
    kinds = options.kinds.split(",") if options.kinds else list(KINDS)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = measure(tree, kinds)
    print_table(results)
    if options.json:
        report = {
            "tree": str(tree),
            "commit": commit,
            "started": started,
            "timeout_s": TIMEOUT_S,
            "kinds": results,
        }
        options.json.write_text(json.dumps(report, indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()

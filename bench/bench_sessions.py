"""Benchmark: the history listed headless at 10, 1,000 and 10,000 session files.

Two figures, each against a baseline measured in the same run:

* the 20 newest (``Engine.history()``, what the app's window and ``sessions`` list), in process,
  cold (a new engine) and warm (its cache filled by a previous listing), against parsing the 20
  newest files with the json module;
* every session, as the command ``llmtool-tui sessions --all --json`` (a fresh interpreter,
  imports and output included), against a fresh interpreter that parses every file with the
  json module (``BASELINE_SCRIPT``). *Cold* is the first listing of the workspace: every file is
  read and validated, and the row index (``logs/.cache/rows.json``) is written. *Warm* is any
  later one: only files whose stat values changed are read. *One edit* is warm with one file
  changed since.

Run: ``.venv/bin/python bench/bench_sessions.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.facade import Engine  # noqa: E402
from engine.row_index import index_path  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

EXAMPLE = ROOT / "tests" / "data" / "example-training-metadata.json"
SIZES = (10, 1_000, 10_000)
CLI = [sys.executable, "-m", "llmtool_tui"]
#: What the least a listing of every file must do: find them newest first, read and parse each.
BASELINE_SCRIPT = """
import json, sys
from pathlib import Path
folder = Path(sys.argv[1]) / "logs" / "training_sessions"
paths = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
documents = [json.loads(path.read_bytes()) for path in paths]
print(len(documents))
"""


def populate(directory: Path, count: int) -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        clock = f"{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}"
        stamp = f"2026{1 + i % 12:02d}{1 + i % 28:02d}_{clock}"
        document["training_session"]["timestamp"] = stamp
        document["training_session"]["session_id"] = f"train_{stamp}_{i}"
        path = directory / f"training_metadata_{i:05d}.json"
        path.write_text(json.dumps(document))
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def json_newest(directory: Path, limit: int | None) -> list[object]:
    paths = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [json.loads(p.read_bytes()) for p in paths[:limit]]


def run(command: list[str]) -> None:
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)


def measure(count: int, repeats: int) -> tuple[str, str]:
    """The two table rows of one workspace size."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp))
        populate(workspace.sessions_dir, count)
        json20 = median_ms(lambda: json_newest(workspace.sessions_dir, 20), repeats)
        cold = median_ms(lambda: Engine(workspace).history(20), repeats)
        warm_engine = Engine(workspace)
        warm_engine.history(20)
        warm = median_ms(lambda: warm_engine.history(20), repeats)

        command = [*CLI, "sessions", "--all", "--json", "--workspace", str(workspace.root)]
        baseline = median_ms(lambda: run([sys.executable, "-c", BASELINE_SCRIPT, tmp]), repeats)

        def cold_command() -> None:
            index_path(workspace).unlink(missing_ok=True)
            run(command)

        all_cold = median_ms(cold_command, max(1, repeats // 2))
        run(command)
        all_warm = median_ms(lambda: run(command), repeats)
        edited = workspace.sessions_dir / "training_metadata_00000.json"

        def one_edit() -> None:
            os.utime(edited)  # a new mtime: as a heartbeat or a note would
            run(command)

        all_edit = median_ms(one_edit, repeats)
    newest = (
        f"{count:>7} {json20:>9.1f}ms {cold:>9.1f}ms {warm:>9.1f}ms"
        f" {cold / json20:>9.2f}x {warm / json20:>9.2f}x"
    )
    every = (
        f"{count:>7} {baseline:>9.0f}ms {all_cold:>9.0f}ms {all_warm:>9.0f}ms {all_edit:>9.0f}ms"
        f" {all_cold / baseline:>9.2f}x {all_warm / baseline:>9.2f}x {all_edit / baseline:>9.2f}x"
    )
    return newest, every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each measure (median)")
    args = parser.parse_args()
    rows = [measure(count, args.repeats) for count in SIZES]
    print("The 20 newest, in process (Engine.history()):")
    header = f"{'files':>7} {'json 20':>11} {'cold':>11} {'warm':>11}"
    print(f"{header} {'cold/json':>10} {'warm/json':>10}")
    for newest, _ in rows:
        print(newest)
    print("Every session, the command `sessions --all --json` (fresh interpreter):")
    print(
        f"{'files':>7} {'json all':>11} {'cold':>11} {'warm':>11} {'one edit':>11}"
        f" {'cold/json':>10} {'warm/json':>10} {'edit/json':>10}"
    )
    for _, every in rows:
        print(every)


if __name__ == "__main__":
    main()

"""How fast the app starts and how fast the live history follows the disk, against baselines.

Start-up: each measure is a fresh interpreter (``python -c``), timed from the parent's spawn to the
first refresh after the awaited state (so interpreter start and imports count):

* bare: a Textual app showing one label (the baseline, measured in the same run);
* options: the app's first screen;
* history: the app, ``1`` pressed, the history painted with its 20 rows, in a workspace of
  ``--files`` session files (10,000 by default).

Live update: in one process, the history is open on that workspace; a session file is written
(atomically, as the store does) and the time until its row is in the table is measured, ``--drops``
times; the median is compared with the 300 ms target.

Run: ``python bench/bench_app_start.py [--files N] [--runs N] [--drops N]``. The workspace is
kept under the system's temp directory between runs (creating 10,000 files takes a while).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.facade import Engine  # noqa: E402
from engine.store import atomic_write_json  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

EXAMPLE = REPO / "tests" / "data" / "example-training-metadata.json"
LIVE_TARGET_MS = 300.0

BARE = """
import time
from textual.app import App
from textual.widgets import Label

class Bare(App):
    def compose(self):
        yield Label("bare")
    def on_mount(self):
        self.call_after_refresh(self.exit)

Bare().run(headless=True, size=(120, 36))
"""

OPTIONS = """
import sys
from engine.facade import Engine
from engine.workspace import Workspace
from llmtool_tui.app import make_app

app = make_app(Engine(Workspace.resolve(sys.argv[1])), watch=False)

async def auto_pilot(pilot):
    app.call_after_refresh(app.exit)

app.run(headless=True, size=(120, 36), auto_pilot=auto_pilot)
"""

HISTORY = """
import asyncio, sys
from engine.facade import Engine
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.widgets import SessionTable

app = make_app(Engine(Workspace.resolve(sys.argv[1])))

async def auto_pilot(pilot):
    await pilot.press("1")
    while not app.screen.query(SessionTable) or app.screen.query_one(SessionTable).row_count < 20:
        await asyncio.sleep(0.002)
    app.call_after_refresh(app.exit)

app.run(headless=True, size=(120, 36), auto_pilot=auto_pilot)
"""


def make_workspace(count: int) -> Workspace:
    """A workspace of ``count`` valid session files (reused when already there)."""
    workspace = Workspace(Path(tempfile.gettempdir()) / f"llmtool-bench-{count}")
    if workspace.sessions_dir.is_dir() and len(os.listdir(workspace.sessions_dir)) == count:
        return workspace
    workspace.root.mkdir(parents=True, exist_ok=True)
    workspace.ensure()
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    base = time.time() - count
    for index in range(count):
        stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(base + index))
        document["training_session"]["timestamp"] = stamp
        document["training_session"]["session_id"] = f"train_{stamp}_{index}"
        path = workspace.sessions_dir / f"training_metadata_{stamp}_{index}.json"
        # Plain writes: this is a fixture, and 10,000 fsyncs would take minutes.
        path.write_text(json.dumps(document), encoding="utf-8")
        os.utime(path, (base + index, base + index))
    return workspace


def time_process(script: str, *args: str) -> float:
    """Seconds from spawning ``python -c script`` to its exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def live_latencies(workspace: Workspace, drops: int) -> tuple[float, list[float]]:
    """Milliseconds from ``1`` to the history's rows, and from each new file to its row."""
    from llmtool_tui.app import make_app
    from llmtool_tui.screens import HistoryScreen
    from llmtool_tui.widgets import SessionTable

    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    app = make_app(Engine(workspace))
    latencies = []
    async with app.run_test(size=(120, 36)) as pilot:
        await asyncio.sleep(1.0)  # start-up work (the watcher's first scan) is over
        started = time.perf_counter()
        await pilot.press("1")
        while not (isinstance(app.screen, HistoryScreen) and app.screen.history is not None):
            await asyncio.sleep(0.001)
        opened = (time.perf_counter() - started) * 1000
        await asyncio.sleep(1.0)  # the watcher is established
        table = app.screen.query_one(SessionTable)
        for drop in range(drops):
            session_id = f"train_20990101_000000_{drop}_{os.getpid()}"
            document["training_session"]["session_id"] = session_id
            path = workspace.sessions_dir / f"{session_id}.json"
            started = time.perf_counter()
            await asyncio.to_thread(atomic_write_json, path, document)
            while not any(row.session_id == session_id for row in table.shown_rows):
                await asyncio.sleep(0.001)
            latencies.append((time.perf_counter() - started) * 1000)
            path.unlink()
            await asyncio.sleep(0.3)
    return opened, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="session files (10,000)")
    parser.add_argument("--runs", type=int, default=5, help="start-ups of each kind (5)")
    parser.add_argument("--drops", type=int, default=15, help="files dropped live (15)")
    args = parser.parse_args()

    workspace = make_workspace(args.files)
    print(f"workspace: {workspace.root} ({args.files:,} session files)")
    medians = {}
    for name, script, extra in (
        ("bare", BARE, ()),
        ("options", OPTIONS, (str(workspace.root),)),
        ("history", HISTORY, (str(workspace.root),)),
    ):
        times = [time_process(script, *extra) for _ in range(args.runs)]
        medians[name] = statistics.median(times)
        print(f"{name:>8}: median {medians[name] * 1000:6.0f} ms over {args.runs} runs")
    bare = medians["bare"]
    print(f"options/bare:  {medians['options'] / bare:.2f}x")
    print(f"history/bare:  {medians['history'] / bare:.2f}x  (20 of {args.files:,} files listed)")

    opened, latencies = asyncio.run(live_latencies(workspace, args.drops))
    print(f"in the running app, 1 → history rows: {opened:.0f} ms")
    median = statistics.median(latencies)
    print(
        f"live update: median {median:.0f} ms, max {max(latencies):.0f} ms over {args.drops} "
        f"drops; target {LIVE_TARGET_MS:.0f} ms: {'met' if median < LIVE_TARGET_MS else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the app starts and how fast the live history follows the disk, against baselines.

Start-up: each measure is a fresh interpreter (``python -c``), timed from the parent's spawn to the
first frame of the awaited state (so interpreter start and imports count), then its exit:

* bare: a Textual app showing a 20-row DataTable between a header and a footer (the baseline,
  measured in the same run; the same app as ``shared/tools/bare_table_app.py``);
* options: the app's first screen, started as the command line starts it (the child process
  that lists the history's window forked before the interface's imports);
* history, key at once: ``1`` pressed as soon as the menu is up, until the history's first frame
  with its 20 rows, in a workspace of ``--files`` session files (10,000 by default);
* history, key after reading: the same with ``1`` pressed ``--reading`` seconds after the menu
  (a person reading it); that pause is subtracted: the figure is the time the person waits.

Live update: in one process, the history is open on that workspace; a session file is written
(atomically, as the store does) and the time until its row is in the table is measured, ``--drops``
times; the median is compared with the 300 ms target.

Run: ``python bench/bench_app_start.py [--files N] [--runs N] [--drops N] [--reading S]``. The
workspace is kept under the system's temp directory between runs (creating 10,000 files takes a
while).
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

#: Each script reports on its standard output (fd 1, which Textual does not capture) the
#: wall-clock time of the first frame that shows what it waits for, then exits (the exit is not
#: timed). A frame is what ``App._display`` receives: it is written to the terminal at once
#: (headless, it is rendered and dropped); Textual offers no public hook for it.
FIRST_FRAME = """
import os, time
from textual.app import App

def report_first_frame(shows):
    display = App._display
    def _display(app, screen, renderable):
        display(app, screen, renderable)
        if renderable is not None and not app._batch_count and shows(app, screen):
            os.write(1, f"{time.time()}\\n".encode())
            App._display = display
            app.exit()
    App._display = _display
"""

BARE = (
    FIRST_FRAME
    + """
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("#", "Date", "Mode", "Dataset", "Model", "Status")
        for i in range(1, 21):
            table.add_row(
                str(i), "2026-12-03 10:00", "quick", f"data_{i}.csv", "camembert-base",
                "✓ completed",
            )

report_first_frame(lambda app, screen: app.query_one(DataTable).row_count == 20)
Bare().run(headless=True, size=(120, 36))
"""
)

#: As the command line starts the app: the engine first, the fork of the child that lists the
#: history's window, then the interface's imports.
APP_START = """
import sys
from engine.facade import Engine
from engine.workspace import Workspace

engine = Engine(Workspace.resolve(sys.argv[1]))
first_listing = engine.list_in_background()
"""

OPTIONS = (
    APP_START
    + FIRST_FRAME
    + """
from llmtool_tui.app import make_app

report_first_frame(lambda app, screen: type(screen).__name__ == "OptionsScreen")
make_app(engine, first_listing=first_listing).run(headless=True, size=(120, 36))
"""
)

HISTORY = (
    APP_START
    + FIRST_FRAME
    + """
import asyncio
from llmtool_tui.app import make_app

def shows_rows(app, screen):
    if type(screen).__name__ != "HistoryScreen":
        return False
    return screen.query_one("#sessions").row_count >= 20

async def auto_pilot(pilot):
    await asyncio.sleep(float(sys.argv[2]))
    pilot.app.simulate_key("1")  # as typed; pilot.press would also wait for what follows

report_first_frame(shows_rows)
app = make_app(engine, first_listing=first_listing)
app.run(headless=True, size=(120, 36), auto_pilot=auto_pilot)
"""
)


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
    """Seconds from spawning ``python -c script`` to the frame it reports."""
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.split()[-1]) - started


async def live_latencies(workspace: Workspace, drops: int) -> list[float]:
    """Milliseconds from each new file to its row in the open history."""
    from llmtool_tui.app import make_app
    from llmtool_tui.screens import HistoryScreen
    from llmtool_tui.widgets import SessionTable

    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    app = make_app(Engine(workspace))
    latencies = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1")
        while not (isinstance(app.screen, HistoryScreen) and not app.screen.fetching):
            await asyncio.sleep(0.01)
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
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="session files (10,000)")
    parser.add_argument("--runs", type=int, default=5, help="start-ups of each kind (5)")
    parser.add_argument("--drops", type=int, default=15, help="files dropped live (15)")
    parser.add_argument(
        "--reading", type=float, default=1.0, help="seconds before 1 in the second history (1)"
    )
    args = parser.parse_args()

    workspace = make_workspace(args.files)
    print(f"workspace: {workspace.root} ({args.files:,} session files)")
    root = str(workspace.root)
    measures = (
        ("bare", BARE, (), 0.0),
        ("options", OPTIONS, (root,), 0.0),
        ("history, key at once", HISTORY, (root, "0"), 0.0),
        (
            f"history, key after {args.reading:g} s",
            HISTORY,
            (root, str(args.reading)),
            args.reading,
        ),
    )
    # Alternated, one of each kind per round: a load that comes and goes weighs on all alike.
    times: dict[str, list[float]] = {name: [] for name, *_ in measures}
    for _ in range(args.runs):
        for name, script, extra, pause in measures:
            times[name].append(time_process(script, *extra) - pause)
    medians = {}
    for name, *_ in measures:
        medians[name] = statistics.median(times[name])
        print(f"{name:>24}: median {medians[name] * 1000:6.0f} ms over {args.runs} runs")
    bare = medians["bare"]
    for name, _, _, pause in measures[1:]:
        waited = " (the reading pause left out)" if pause else ""
        print(f"{name + '/bare':>29}: {medians[name] / bare:.2f}x{waited}")

    latencies = asyncio.run(live_latencies(workspace, args.drops))
    median = statistics.median(latencies)
    print(
        f"live update: median {median:.0f} ms, max {max(latencies):.0f} ms over {args.drops} "
        f"drops; target {LIVE_TARGET_MS:.0f} ms: {'met' if median < LIVE_TARGET_MS else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

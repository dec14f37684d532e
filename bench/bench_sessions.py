"""Benchmark: headless ``sessions`` listing at 10, 1,000 and 10,000 files.

Baseline, measured in the same run: parsing the 20 newest files with the json module (the least
any listing of 20 must do), and parsing every file with json (what a naive listing does).
Each figure is the median of several runs of the in-process listing (``Engine.history``), cold
(new engine, empty cache) and warm (cache filled by a previous listing, as in the app).

Run: ``.venv/bin/python bench/bench_sessions.py``
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.facade import Engine  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

EXAMPLE = ROOT / "tests" / "data" / "example-training-metadata.json"
SIZES = (10, 1_000, 10_000)
REPEATS = 7


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


def median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def json_newest(directory: Path, limit: int | None) -> list[object]:
    paths = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [json.loads(p.read_bytes()) for p in paths[:limit]]


def measure(count: int) -> str:
    """One table row: the listing of 20 (cold, warm) and of all files, against json."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp))
        populate(workspace.sessions_dir, count)
        json20 = median_ms(lambda: json_newest(workspace.sessions_dir, 20))
        json_all = median_ms(lambda: json_newest(workspace.sessions_dir, None))
        cold = median_ms(lambda: Engine(workspace).history(20))
        warm_engine = Engine(workspace)
        warm_engine.history(20)
        warm = median_ms(lambda: warm_engine.history(20))
        # Listing every file parses every file: measured once at 10,000 (several seconds).
        everything = median_ms(
            lambda: Engine(workspace).history(None), repeats=REPEATS if count <= 1_000 else 1
        )
    return (
        f"{count:>7} {json20:>8.1f}ms {json_all:>8.1f}ms {cold:>8.1f}ms {warm:>8.1f}ms"
        f" {cold / json20:>11.2f}x {warm / json20:>11.2f}x {everything:>12.1f}ms"
        f" {everything / json_all:>12.2f}x"
    )


def main() -> None:
    print(
        f"{'files':>7} {'json 20':>9} {'json all':>9} {'cold 20':>9} {'warm 20':>9}"
        f" {'cold/json20':>12} {'warm/json20':>12} {'all (llmtool)':>14} {'all/json all':>13}"
    )
    for count in SIZES:
        print(measure(count), flush=True)


if __name__ == "__main__":
    main()

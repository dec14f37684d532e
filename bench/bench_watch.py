"""Benchmark of the sessions watcher: drop-in latency, and the cost of one update among 10,000.

Latency is measured from just before the atomic rename of a metadata file (how the store and a
collaborator's tool deliver one) to the moment ``SessionWatcher.changes()`` yields it, against
a bare baseline measured in the same run: ``watchfiles.awatch`` with the same settings and no
work of ours (the difference is our stat, parse and thread hops). watchfiles' default settings
and ``--poll`` mode are shown for scale.

The update cost is the work done for one changed file while 10,000 files are present, against
parsing one file with ``json.loads`` and against a full rescan.

Run: ``.venv/bin/python bench/bench_watch.py [--samples N] [--skip-poll]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from watchfiles import awatch

from engine.schema import DatasetConfig, ModelConfig, TrainingMetadata, TrainingSession
from engine.store import SessionCache, is_session_candidate, read_metadata, scan_keys
from engine.watcher import (
    DEFAULT_DEBOUNCE_MS,
    DEFAULT_POLL_INTERVAL_MS,
    DEFAULT_STEP_MS,
    SessionWatcher,
)

FILES_PRESENT = 10_000


def document(index: int) -> bytes:
    metadata = TrainingMetadata(
        training_session=TrainingSession(timestamp=f"20250101_{index:06d}"),
        dataset_config=DatasetConfig(primary_file="/data/annotated.csv", text_column="text"),
        training_model_config=ModelConfig(selected_model="camembert-base"),
    )
    return (json.dumps(metadata.to_document(), indent=2) + "\n").encode()


def drop(directory: Path, index: int) -> tuple[Path, float]:
    """Write a session file as the store does and return the time just before the rename."""
    path = directory / f"training_metadata_bench_{index:06d}.json"
    temp = directory / f".{path.name}.{index:08x}.tmp"
    with temp.open("wb") as handle:
        handle.write(document(index))
        handle.flush()
        os.fsync(handle.fileno())
    renamed_at = time.perf_counter()
    os.replace(temp, path)
    return path, renamed_at


Stream = Callable[[Path], AsyncIterator[set[str]]]


async def watcher_stream(directory: Path, **options: object) -> AsyncIterator[set[str]]:
    watcher = SessionWatcher(directory, **options)  # type: ignore[arg-type]
    async for batch in watcher.changes():
        yield {str(entry.path) for entry in [*batch.added, *batch.changed]}


async def raw_stream(directory: Path, **options: object) -> AsyncIterator[set[str]]:
    def keep(change: object, path: str) -> bool:
        return is_session_candidate(os.path.basename(path))

    async for changes in awatch(directory, watch_filter=keep, recursive=False, **options):  # type: ignore[arg-type]
        yield {path for _, path in changes}


async def measure(
    directory: Path, stream: AsyncIterator[set[str]], samples: int, first_index: int
) -> list[float]:
    """Latency in ms of ``samples`` drops, one at a time."""
    arrivals: dict[str, float] = {}
    arrived = asyncio.Event()

    async def consume() -> None:
        async for paths in stream:
            now = time.perf_counter()
            for path in paths:
                arrivals.setdefault(path, now)
            arrived.set()

    task = asyncio.create_task(consume())
    await asyncio.sleep(1.5)  # let the watch start (and the watcher's first resync pass)
    latencies = []
    for index in range(first_index, first_index + samples):
        path, renamed_at = await asyncio.to_thread(drop, directory, index)
        while str(path) not in arrivals:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 10)
        latencies.append((arrivals[str(path)] - renamed_at) * 1000)
        # Spread the drops so that each one is a separate event, as in real use.
        await asyncio.sleep(0.03)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return latencies


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def row(label: str, latencies: list[float], baseline: float | None = None) -> None:
    median, p95 = summary(latencies)
    ratio = f"  x{median / baseline:.2f} of baseline" if baseline else ""
    print(f"  {label:<48} median {median:7.1f} ms   p95 {p95:7.1f} ms{ratio}")


def per_call_ms(action: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - started) / repeat * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--skip-poll", action="store_true", help="skip the slow --poll rows")
    args = parser.parse_args()
    tuned = {"debounce": DEFAULT_DEBOUNCE_MS, "step": DEFAULT_STEP_MS}

    with tempfile.TemporaryDirectory() as root:
        sessions = Path(root) / "logs" / "training_sessions"
        sessions.mkdir(parents=True)
        n = args.samples
        print(
            f"Drop-in latency, {n} atomic renames, 1 file present (debounce {tuned['debounce']}"
            f" ms, step {tuned['step']} ms):"
        )
        baseline = await measure(sessions, raw_stream(sessions, **tuned), n, 0)
        ours = await measure(sessions, watcher_stream(sessions), n, 1000)
        defaults = await measure(sessions, raw_stream(sessions), max(10, n // 4), 2000)
        base_median = summary(baseline)[0]
        row("baseline: bare watchfiles.awatch, same settings", baseline)
        row("SessionWatcher.changes()", ours, base_median)
        row("bare watchfiles.awatch, default settings", defaults, base_median)
        if not args.skip_poll:
            poll = await measure(
                sessions, watcher_stream(sessions, poll=True), max(10, n // 4), 3000
            )
            row(f"SessionWatcher --poll ({DEFAULT_POLL_INTERVAL_MS} ms interval)", poll)

        print(f"\nWith {FILES_PRESENT:,} session files present:")
        payload = document(0)
        for index in range(FILES_PRESENT):
            (sessions / f"training_metadata_fill_{index:06d}.json").write_bytes(payload)
        crowded = await measure(sessions, watcher_stream(sessions), n, 4000)
        row("SessionWatcher.changes() drop-in latency", crowded, base_median)

        # The work of one event: stat and parse the one changed file, through the cache (what
        # the watcher does per changed path; the other 10,000 files are not touched).
        cache = SessionCache()
        target = sessions / "training_metadata_fill_000000.json"
        repeat = 300

        def touch_and_update() -> None:
            os.utime(target)
            cache.get(target)

        update_ms = per_call_ms(touch_and_update, repeat)
        assert cache.parses == repeat
        json_ms = per_call_ms(lambda: json.loads(target.read_bytes()), repeat)
        validate_ms = per_call_ms(lambda: read_metadata(target), repeat)
        started = time.perf_counter()
        rescan_ms = len(SessionCache().scan(sessions)) and (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        stat_ms = len(scan_keys(sessions)) and (time.perf_counter() - started) * 1000
        print(f"  one update (stat + read + validate 1 file)      {update_ms:8.3f} ms")
        print(
            f"  baseline: read + json.loads of 1 file            {json_ms:8.3f} ms"
            f"   (update = x{update_ms / json_ms:.1f})"
        )
        print(f"  read + pydantic validation of 1 file (no cache)  {validate_ms:8.3f} ms")
        print(
            f"  full rescan, parsing all {FILES_PRESENT:,} files          {rescan_ms:8.1f} ms"
            f"   (update = 1/{rescan_ms / update_ms:,.0f} of it)"
        )
        print(f"  stat-only scan of {FILES_PRESENT:,} files (start, resync)    {stat_ms:8.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())

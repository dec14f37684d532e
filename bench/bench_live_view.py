"""How fast the live view opens a long run, and what it costs in memory, against a short run.

For each size (100, 300,000 and 3,000,000 step events by default) a run is generated as the worker
writes it: ``progress.jsonl`` (status, model start, a step event per step with its loss, an
evaluation every ``steps // 20`` steps, a checkpoint and a log line with each) and its summary
(``progress.summary.jsonl``, thinned as ``ProgressWriter`` thins it). Then, in a fresh interpreter
per size, the app is driven headless to the run's details, ``m`` is pressed and the time until
the progress panel shows the run's last step is measured, then the process's RSS. Both are
given as ratios against the 100-event run of the same invocation (the baseline).

``--repo`` runs the app of another checkout on the same logs (the "before" figures: a checkout
without summaries reads the whole log; ``--timeout`` bounds the wait).

Run: ``python bench/bench_live_view.py [--sizes 100 300000 3000000] [--runs 3] [--repo DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.progress import (  # noqa: E402
    SUMMARY_FILE,
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelStarted,
    StatusChanged,
    StepThinning,
)
from engine.workspace import PROGRESS_FILE, Workspace  # noqa: E402

EXAMPLE = REPO / "tests" / "data" / "example-training-metadata.json"
SESSION_STAMP = "20260101_120000"
SESSION_ID = f"train_{SESSION_STAMP}"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

OPEN = """
import asyncio, json, sys, time
import psutil
from textual.widgets import Static
from engine.facade import Engine
from engine.workspace import Workspace
from llmtool_tui.app import make_app

workspace, steps, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
expected = f"Step {steps}/{steps}"

async def until(condition, limit):
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True

async def main():
    app = make_app(Engine(Workspace.resolve(workspace)), watch=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("1")
        await until(lambda: type(app.screen).__name__ == "HistoryScreen"
                    and app.screen.history is not None, 30)
        await pilot.press("1")
        await until(lambda: type(app.screen).__name__ == "DetailScreen"
                    and app.screen.view is not None, 30)
        def shown():
            found = app.screen.query("#progress-steps")
            return str(found.first(Static).render()) if found else ""
        pressed = time.perf_counter()
        app.simulate_key("m")
        reached = await until(lambda: shown().startswith(expected), timeout)
        elapsed = time.perf_counter() - pressed
        rss = psutil.Process().memory_info().rss
        print(json.dumps({"seconds": elapsed if reached else None, "rss": rss,
                          "shown": shown()}))

asyncio.run(main())
"""


def _step_line(step: int, max_steps: int, loss: float, moment: datetime) -> str:
    # As pydantic's model_dump_json writes a StepLogged, formatted directly: generating three
    # million events through the model would take minutes.
    return (
        f'{{"time":"{moment.isoformat().replace("+00:00", "Z")}","event":"step",'
        f'"model":"bert-base","step":{step},"max_steps":{max_steps},"epoch":{step / max_steps:.4f},'
        f'"loss":{loss:.6f},"learning_rate":2e-05,"samples_per_second":31.5}}\n'
    )


def write_long_run(run_dir: Path, steps: int) -> None:
    """A finished single-model run of ``steps`` step events, with its summary."""
    run_dir.mkdir(parents=True, exist_ok=True)
    thinning = StepThinning()
    every = max(1, steps // 20)
    with (
        (run_dir / PROGRESS_FILE).open("w", encoding="utf-8") as log,
        (run_dir / SUMMARY_FILE).open("w", encoding="utf-8") as summary,
    ):

        def both(line: str) -> None:
            log.write(line)
            summary.write(line)

        both(StatusChanged(time=START, status="running").model_dump_json() + "\n")
        both(ModelStarted(time=START, model="bert-base").model_dump_json() + "\n")
        for step in range(1, steps + 1):
            moment = START + timedelta(milliseconds=step)
            loss = 1.0 / (1 + step / every) + (step % 7) * 0.01
            line = _step_line(step, steps, loss, moment)
            log.write(line)
            kept, mean = thinning.take(step, loss)
            if kept and mean is not None:
                summary.write(_step_line(step, steps, mean, moment))
            if step % every == 0:
                evaluation = EvaluationDone(
                    time=moment, model="bert-base", step=step, epoch=step / steps,
                    eval_loss=loss, macro_f1=min(0.95, 0.5 + step / steps / 2), accuracy=0.8,
                )  # fmt: skip
                both(evaluation.model_dump_json() + "\n")
                both(
                    CheckpointSaved(time=moment, model="bert-base", step=step, path="ckpt")
                    .model_dump_json() + "\n"
                )  # fmt: skip
                both(LogLine(time=moment, message=f"epoch at step {step}").model_dump_json() + "\n")
        end = START + timedelta(milliseconds=steps + 1)
        both(StatusChanged(time=end, status="completed").model_dump_json() + "\n")


def make_workspace(steps: int) -> Path:
    """A workspace holding one completed session whose run logged ``steps`` steps (kept between
    invocations: three million events take a while to write)."""
    root = Path(tempfile.gettempdir()) / f"llmtool-bench-live-{steps}"
    workspace = Workspace(root)
    run_dir = workspace.run_dir(SESSION_ID)
    if (run_dir / SUMMARY_FILE).is_file():
        return root
    workspace.root.mkdir(parents=True, exist_ok=True)
    workspace.ensure()
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["training_session"]["timestamp"] = SESSION_STAMP
    document["training_session"]["session_id"] = SESSION_ID
    document["execution_status"] = {"status": "completed", "started_at": START.isoformat()}
    (workspace.sessions_dir / f"training_metadata_{SESSION_STAMP}.json").write_text(
        json.dumps(document, indent=2), encoding="utf-8"
    )
    write_long_run(run_dir, steps)
    return root


def measure(repo: Path, root: Path, steps: int, timeout: float) -> dict[str, float | None]:
    env = dict(os.environ, PYTHONPATH=str(repo))
    done = subprocess.run(
        [sys.executable, "-c", OPEN, str(root), str(steps), str(timeout)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout + 120,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    result: dict[str, float | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300_000, 3_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose app is run")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    baseline: tuple[float, float] | None = None
    for steps in args.sizes:
        root = make_workspace(steps)
        size = (Workspace(root).run_dir(SESSION_ID) / PROGRESS_FILE).stat().st_size
        runs = [measure(args.repo.resolve(), root, steps, args.timeout) for _ in range(args.runs)]
        times = [run["seconds"] for run in runs]
        known = [t for t in times if t is not None]
        seconds = statistics.median(known) if len(known) == len(times) else None
        rss = statistics.median(float(run["rss"] or 0) for run in runs)
        if baseline is None:
            baseline = (seconds or float("nan"), rss)
        ratio_time = f"×{seconds / baseline[0]:.2f}" if seconds is not None else "-"
        shown = "timed out" if seconds is None else f"{seconds * 1000:.0f} ms"
        print(
            f"{steps:>9,} steps ({size / 1e6:,.0f} MB): key → last step {shown} {ratio_time}"
            f" (runs: {', '.join('-' if t is None else f'{t * 1000:.0f}' for t in times)} ms);"
            f" RSS {rss / 2**20:.0f} MiB ×{rss / baseline[1]:.2f}"
        )


if __name__ == "__main__":
    main()

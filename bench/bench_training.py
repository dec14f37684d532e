"""Training throughput of the worker against a bare Trainer script, and time from resume to a step.

1. Steady-state throughput: the worker (callbacks, RNG-neutral evaluation, checkpoint markers,
   progress events, heartbeat, metadata updates) and a bare script (Trainer with the same
   arguments: per-epoch evaluation and checkpoint, best model by macro F1, early stopping) train
   the same demo model on the same sample data with the same thread count, in fresh processes,
   alternately. Throughput is samples per second between the end of epoch 1 and the last step
   (so the per-epoch evaluation and checkpoint of epochs 1..N-1 are inside the window for both).
   Target: ratio (worker / bare) >= 0.97.
2. Resume latency: a session is SIGKILLed after its first checkpoint (the worker's test hook),
   then ``llmtool-tui resume --detach`` is timed until the first new step appears in
   progress.jsonl; the baseline is a bare script started from nothing until its first step
   (Python start, imports, model load: the floor any resume pays).

    .venv/bin/python bench/bench_training.py [--repeat 3] [--epochs 3] [--threads 1]
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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.workspace import PROGRESS_FILE  # noqa: E402

BATCH_SIZE = 16
MAX_LENGTH = 64
LEARNING_RATE = 1e-3

BARE_SCRIPT = r"""
import json, sys, time
from pathlib import Path
import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                          DataCollatorWithPadding, EarlyStoppingCallback, Trainer,
                          TrainerCallback, TrainingArguments, enable_full_determinism)
from engine.training.data import load_session_data, encode_texts, subset, unit_labels
from engine.training.metrics import metrics_function
from engine.store import read_metadata

metadata_path, out_dir, timings_path, threads, epochs = sys.argv[1:6]
torch.set_num_threads(int(threads))
metadata = read_metadata(Path(metadata_path))
config = metadata.training_model_config
data = load_session_data(metadata.dataset_config)
tokenizer = AutoTokenizer.from_pretrained(config.selected_model)
label_names, labels = unit_labels(data, None)
features = encode_texts(tokenizer, data.texts, config.max_length)
enable_full_determinism(config.seed)
model = AutoModelForSequenceClassification.from_pretrained(
    config.selected_model, num_labels=len(label_names))
times = []

class StepTimes(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        times.append((state.global_step, time.time()))
        if state.global_step == 1:
            with open(timings_path + ".first", "w") as handle:
                handle.write(str(time.time()))

args = TrainingArguments(
    output_dir=out_dir, num_train_epochs=int(epochs), per_device_train_batch_size=config.batch_size,
    per_device_eval_batch_size=config.batch_size, learning_rate=config.learning_rate,
    eval_strategy="epoch", save_strategy="epoch", logging_strategy="steps", logging_steps=1,
    load_best_model_at_end=True, metric_for_best_model="macro_f1", greater_is_better=True,
    seed=config.seed, data_seed=config.seed, full_determinism=True, report_to=[],
    disable_tqdm=True, use_cpu=True, dataloader_num_workers=0, log_level="warning")
trainer = Trainer(model=model, args=args, train_dataset=subset(features, labels, data.train),
                  eval_dataset=subset(features, labels, data.validation),
                  processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                  compute_metrics=metrics_function(label_names, False),
                  callbacks=[EarlyStoppingCallback(config.early_stopping_patience), StepTimes()])
trainer.train()
json.dump(times, open(timings_path, "w"))
"""


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", LLMTOOL_TORCH_THREADS=str(threads))
    env.pop("LLMTOOL_TEST_KILL_AT", None)
    return env


def _prepare(workdir: Path, epochs: int, threads: int) -> tuple[Path, int]:
    """A workspace with the demo model; a pending session's metadata (steps per epoch)."""
    from engine.analysis import analyze_dataset
    from engine.schema import ModelConfig
    from engine.sessions.creation import build_session_metadata, create_session
    from engine.sessions.sample_data import SAMPLE_PATH
    from engine.store import SessionStore
    from engine.training.demo_model import build_demo_model, read_corpus
    from engine.workspace import Workspace

    workspace = Workspace(workdir / "ws")
    workspace.root.mkdir(parents=True)
    workspace.ensure()
    model = build_demo_model(workdir / "demo-bert", read_corpus(SAMPLE_PATH, "text"))
    analysis = analyze_dataset(
        SAMPLE_PATH,
        text_column="text",
        label_columns=["label"],
        language_column=None,
        model=str(model),
        sheet=None,
        drop_rare_classes=False,
        split=None,
        progress=None,
    )
    config = ModelConfig(
        training_mode="custom",
        selected_model=str(model),
        selected_models=[str(model)],
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        max_length=MAX_LENGTH,
        # Patience above the epoch count: both runs train every epoch.
        early_stopping_patience=epochs + 1,
        torch_threads=threads,
    )
    path = create_session(SessionStore(workspace), build_session_metadata(analysis, config))
    train_rows = analysis.dataset_config.split.train_size or 0
    return path, -(-train_rows // BATCH_SIZE)


def _new_session(source: Path) -> Path:
    """A fresh pending copy of a session (same parameters), to train again."""
    from engine.sessions.creation import create_session, relaunch_metadata
    from engine.sessions.resumability import workspace_of_metadata
    from engine.store import SessionStore, read_metadata

    store = SessionStore(workspace_of_metadata(source))
    return create_session(store, relaunch_metadata(read_metadata(source)))


def _steady_rate(times: list[tuple[int, float]], steps_per_epoch: int) -> float:
    """Samples per second from the end of epoch 1 to the last step."""
    by_step = dict(times)
    last = max(by_step)
    elapsed = by_step[last] - by_step[steps_per_epoch]
    return (last - steps_per_epoch) * BATCH_SIZE / elapsed


def _run(command: list[str], env: dict[str, str], expected: int = 0) -> None:
    """Run a command; on another exit code, fail with the end of its output."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != expected:
        raise RuntimeError(f"{command[:4]} exited {done.returncode}:\n{done.stderr[-3000:]}")


def _worker_run(metadata_path: Path, threads: int) -> list[tuple[int, float]]:
    _run([sys.executable, "-m", "engine.training.worker", str(metadata_path)], _env(threads))
    from engine.store import read_metadata

    run_dir = Path(read_metadata(metadata_path).output_paths.run_dir or "")
    times = []
    for line in (run_dir / PROGRESS_FILE).read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "step":
            times.append((event["step"], datetime.fromisoformat(event["time"]).timestamp()))
    return times


def _bare_run(
    metadata_path: Path, workdir: Path, threads: int, epochs: int
) -> list[tuple[int, float]]:
    timings = workdir / f"bare-{time.time_ns()}.json"
    _run(
        [
            sys.executable,
            "-c",
            BARE_SCRIPT,
            str(metadata_path),
            str(workdir / "bare-out"),
            str(timings),
            str(threads),
            str(epochs),
        ],
        _env(threads),
    )
    return [tuple(pair) for pair in json.loads(timings.read_text())]  # type: ignore[misc]


def _first_new_step(progress: Path, since: float, timeout: float = 300) -> float:
    """When the first step event written after ``since`` appeared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in progress.read_text().splitlines():
            event = json.loads(line)
            if (
                event["event"] == "step"
                and datetime.fromisoformat(event["time"]).timestamp() > since
            ):
                return time.time()
        time.sleep(0.02)
    raise TimeoutError("no new step after resume")


def _resume_latency(source: Path, threads: int) -> float:
    """Seconds from `llmtool-tui resume --detach` to the first new step."""
    from engine.store import read_metadata

    path = _new_session(source)
    _run(
        [sys.executable, "-m", "engine.training.worker", str(path)],
        {**_env(threads), "LLMTOOL_TEST_KILL_AT": "after_checkpoint:1"},
        expected=-9,
    )
    progress = Path(read_metadata(path).output_paths.run_dir or "") / PROGRESS_FILE
    started = time.time()
    _run(
        [
            sys.executable,
            "-m",
            "llmtool_tui",
            "-w",
            str(path.parents[2]),
            "resume",
            read_metadata(path).session_id,
            "--detach",
        ],
        _env(threads),
    )
    reached = _first_new_step(progress, started)
    # Let the resumed worker finish so that it does not compete with the next measurement.
    deadline = time.monotonic() + 600
    while read_metadata(path).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    return reached - started


def _bare_start_latency(metadata_path: Path, workdir: Path, threads: int) -> float:
    timings = workdir / f"start-{time.time_ns()}.json"
    started = time.time()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            BARE_SCRIPT,
            str(metadata_path),
            str(workdir / "start-out"),
            str(timings),
            str(threads),
            "1",
        ],
        cwd=ROOT,
        env=_env(threads),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = Path(str(timings) + ".first")
    while not first.exists():
        time.sleep(0.02)
    time.sleep(0.05)
    reached = float(first.read_text())
    process.wait()
    return reached - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side (best and median shown)"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-training-") as temp:
        workdir = Path(temp)
        source, steps_per_epoch = _prepare(workdir, options.epochs, options.threads)
        worker_rates, bare_rates = [], []
        for _ in range(options.repeat):
            bare_rates.append(
                _steady_rate(
                    _bare_run(source, workdir, options.threads, options.epochs), steps_per_epoch
                )
            )
            worker_rates.append(
                _steady_rate(_worker_run(_new_session(source), options.threads), steps_per_epoch)
            )
        resume = [_resume_latency(source, options.threads) for _ in range(options.repeat)]
        start = [
            _bare_start_latency(source, workdir, options.threads) for _ in range(options.repeat)
        ]

    # On a shared machine a run slowed down by other processes only ever looks slower: the best
    # of N runs is the least disturbed figure; the median is shown beside it.
    worker, bare = max(worker_rates), max(bare_rates)
    print(
        f"demo model, sample data ({steps_per_epoch} steps/epoch, batch {BATCH_SIZE},"
        f" max_length {MAX_LENGTH}), {options.epochs} epochs, {options.threads} threads,"
        f" {options.repeat} runs each, alternating"
    )
    print(
        f"steady-state throughput (best)    worker {worker:7.1f} samples/s   bare Trainer"
        f" {bare:7.1f} samples/s   ratio {worker / bare:.3f} (target >= 0.97)"
    )
    median_ratio = statistics.median(worker_rates) / statistics.median(bare_rates)
    print(
        f"steady-state throughput (median)  worker {statistics.median(worker_rates):7.1f}"
        f"             bare Trainer {statistics.median(bare_rates):7.1f}"
        f"             ratio {median_ratio:.3f}"
    )
    print(
        "  runs: worker "
        + ", ".join(f"{r:.1f}" for r in worker_rates)
        + " | bare "
        + ", ".join(f"{r:.1f}" for r in bare_rates)
    )
    print(
        f"resume -> first new step (best) {min(resume):6.2f} s   bare start -> first step"
        f" {min(start):6.2f} s   ratio {min(resume) / min(start):.2f}"
    )
    print(
        "  runs: resume "
        + ", ".join(f"{r:.2f}" for r in resume)
        + " | bare start "
        + ", ".join(f"{r:.2f}" for r in start)
    )


if __name__ == "__main__":
    main()

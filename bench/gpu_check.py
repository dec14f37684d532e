"""The GPU check (``make gpu-check``): what only a CUDA machine can show, in a few minutes.

For each precision the GPU offers (fp32, then bf16 mixed where the GPU computes in bf16, then
fp16 mixed with loss scaling), on a small BERT built here and the bundled sample data:

1. the worker trains a session to completion and records the precision it used;
2. a second session is SIGKILLed right after its first checkpoint (the worker's fault hook) and
   resumed: its final weights must equal the uninterrupted run's, bit for bit (the worker trains
   with deterministic algorithms on: ``full_determinism``);
3. throughput: the worker's samples per second in its second epoch (training steps only),
   against a bare Trainer script with the same arguments on the same data (the ratio is the
   worker's overhead).

With two GPUs or more, a session on two processes (torchrun, NCCL) must complete too.

Without CUDA it says so and exits 0, running nothing; ``--on-cpu`` runs the same checks on CPU
(fp32 and bf16, a tiny model) to try the script where no GPU is. Exit 1 when a check fails.

    .venv/bin/python bench/gpu_check.py [--epochs 2] [--rows 2000] [--on-cpu]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH_SIZE = 32
MAX_LENGTH = 64
LEARNING_RATE = 1e-3
TIMEOUT_S = 900

BARE_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                          DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments)
from engine.training.data import load_session_data, encode_texts, subset, unit_labels
from engine.training.metrics import metrics_function
from engine.store import read_metadata

metadata_path, out_dir, times_path, precision_json = sys.argv[1:5]
metadata = read_metadata(Path(metadata_path))
config = metadata.training_model_config
data = load_session_data(metadata.dataset_config)
tokenizer = AutoTokenizer.from_pretrained(config.selected_model)
label_names, labels = unit_labels(data, None)
features = encode_texts(tokenizer, data.texts, config.max_length)
model = AutoModelForSequenceClassification.from_pretrained(
    config.selected_model, num_labels=len(label_names))
times = []

class StepTimes(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        times.append((state.global_step, time.time()))

args = TrainingArguments(
    output_dir=out_dir, num_train_epochs=config.epochs,
    per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
    learning_rate=config.learning_rate, eval_strategy="epoch", save_strategy="epoch",
    logging_strategy="steps", logging_steps=1, load_best_model_at_end=True,
    metric_for_best_model="macro_f1", greater_is_better=True, seed=config.seed,
    data_seed=config.seed, full_determinism=True, report_to=[], disable_tqdm=True,
    dataloader_num_workers=0, log_level="warning", **json.loads(precision_json))
trainer = Trainer(model=model, args=args, train_dataset=subset(features, labels, data.train),
                  eval_dataset=subset(features, labels, data.validation),
                  processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                  compute_metrics=metrics_function(label_names, False), callbacks=[StepTimes()])
trainer.train()
Path(times_path).write_text(json.dumps(times))
"""


@dataclasses.dataclass
class Outcome:
    """One line of the report."""

    check: str
    passed: bool
    detail: str


def _environment(kill_at: str | None = None) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("LLMTOOL_TEST_KILL_AT", None)
    if kill_at:
        env["LLMTOOL_TEST_KILL_AT"] = kill_at
    return env


def _run(command: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ROOT,
        env=_environment(kill_at),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _precisions(on_cpu: bool) -> list[str]:
    """fp32, then each mixed precision this machine trains in."""
    if on_cpu:
        return ["fp32", "bf16"]
    from engine.training.precision import detect_hardware

    return ["fp32", *(["bf16"] if detect_hardware().bf16 else []), "fp16"]


def _samples_per_second(times: list[tuple[int, float]], steps_per_epoch: int) -> float:
    """Samples per second of the training steps after the first epoch's evaluation.

    The window opens at the first step of the second epoch: the worker writes a step's event
    when Trainer logs it, the bare script when the step ends, on either side of the epoch's
    evaluation; with two epochs no evaluation is left inside.
    """
    window = [(step, at) for step, at in times if step > steps_per_epoch]
    (first_step, first_at), (last_step, last_at) = window[0], window[-1]
    return (last_step - first_step) * BATCH_SIZE / (last_at - first_at)


def _worker_step_times(progress: Path) -> list[tuple[int, float]]:
    from datetime import datetime

    times = []
    for line in progress.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "step":
            at = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
            times.append((int(event["step"]), at))
    return times


class Check:
    """The sessions of one check run, in a temporary workspace."""

    def __init__(self, root: Path, epochs: int, rows: int, on_cpu: bool) -> None:
        from engine.sessions.sample_data import generate_rows, render_csv
        from engine.training.demo_model import (
            TINY_SPEC,
            DemoModelSpec,
            build_demo_model,
            read_corpus,
        )
        from engine.workspace import Workspace

        self.root = root
        self.epochs = epochs
        self.workspace = Workspace(root / "workspace")
        self.workspace.root.mkdir(parents=True)
        self.workspace.ensure()
        self.dataset = root / "data.csv"
        self.dataset.write_bytes(render_csv(generate_rows(rows, seed=7)))
        # Large enough that a GPU step is not all launch overhead; tiny on CPU.
        spec = (
            TINY_SPEC
            if on_cpu
            else DemoModelSpec(
                vocab_size=2000,
                hidden_size=256,
                num_layers=4,
                num_heads=4,
                intermediate_size=1024,
                max_position_embeddings=128,
            )
        )
        self.model = build_demo_model(root / "model", read_corpus(self.dataset, "text"), spec)
        from engine.analysis import analyze_dataset

        analysis = analyze_dataset(
            self.dataset, text_column="text", label_columns=["label"], model=str(self.model)
        )
        self.sections = {
            "dataset_config": analysis.dataset_config,
            "language_config": analysis.language_config,
            "text_analysis": analysis.text_analysis,
        }

    def session(self, precision: str, **changes: Any) -> Path:
        """A pending session of the sample data and the model, in ``precision``."""
        from engine.schema import ModelConfig
        from engine.sessions.creation import build_session_metadata, create_session
        from engine.store import SessionStore

        config = ModelConfig(
            training_mode="custom",
            selected_model=str(self.model),
            selected_models=[str(self.model)],
            epochs=self.epochs,
            batch_size=BATCH_SIZE,
            max_length=MAX_LENGTH,
            learning_rate=LEARNING_RATE,
            # Every epoch runs: the windows of the worker and of the bare script are the same.
            early_stopping=False,
            precision=precision,  # type: ignore[arg-type]
            **changes,
        )
        metadata = build_session_metadata(self.sections, config)
        return create_session(SessionStore(self.workspace), metadata)

    def worker(
        self, path: Path, *, resume: bool = False, kill_at: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        from engine.store import read_metadata
        from engine.supervisor import worker_command

        config = read_metadata(path).training_model_config
        return _run(worker_command(path, resume=resume, config=config), kill_at)


def _model_bytes(path: Path) -> bytes:
    from engine.store import read_metadata

    best = read_metadata(path).execution_status.best_model_path
    return (Path(best or "") / "model.safetensors").read_bytes()


def _check_precision(check: Check, precision: str) -> list[Outcome]:
    from engine.store import read_metadata
    from engine.training.precision import detect_hardware, precision_arguments

    outcomes = []
    started = time.monotonic()
    path = check.session(precision)
    done = check.worker(path)
    metadata = read_metadata(path)
    environment = metadata.environment
    used = environment.precision if environment else None
    trained = done.returncode == 0 and metadata.status == "completed" and used == precision
    outcomes.append(
        Outcome(
            f"{precision}: trains",
            trained,
            f"exit {done.returncode}, {metadata.status}, recorded {used},"
            f" {time.monotonic() - started:.0f} s, on {environment.device if environment else '?'}"
            + ("" if trained else f"\n{done.stderr[-3000:]}"),
        )
    )
    if not trained:
        return outcomes

    killed = check.session(precision)
    first = check.worker(killed, kill_at="after_checkpoint:1")
    resumed = check.worker(killed, resume=True)
    same = resumed.returncode == 0 and _model_bytes(killed) == _model_bytes(path)
    outcomes.append(
        Outcome(
            f"{precision}: killed and resumed, bitwise",
            same,
            f"kill exit {first.returncode}, resume exit {resumed.returncode},"
            f" weights {'identical' if same else 'DIFFERENT'}"
            + ("" if resumed.returncode == 0 else f"\n{resumed.stderr[-3000:]}"),
        )
    )

    run_dir = check.workspace.run_dir(metadata.session_id)
    steps_per_epoch = metadata.execution_status.max_steps or 0
    steps_per_epoch //= check.epochs
    worker_rate = _samples_per_second(
        _worker_step_times(run_dir / "progress.jsonl"), steps_per_epoch
    )
    times_path = check.root / f"bare-{precision}.json"
    hardware = detect_hardware()
    # The worker's own precision settings: only what the worker adds around Trainer differs.
    arguments = precision_arguments(precision, hardware)  # type: ignore[arg-type]
    arguments["use_cpu"] = not hardware.cuda
    bare = _run(
        [
            sys.executable,
            "-c",
            BARE_SCRIPT,
            str(path),
            str(check.root / f"bare-{precision}"),
            str(times_path),
            json.dumps(arguments),
        ]
    )
    if bare.returncode != 0:
        outcomes.append(Outcome(f"{precision}: bare Trainer", False, bare.stderr[-3000:]))
        return outcomes
    bare_rate = _samples_per_second(json.loads(times_path.read_text()), steps_per_epoch)
    outcomes.append(
        Outcome(
            f"{precision}: throughput",
            True,
            f"worker {worker_rate:,.0f} samples/s, bare Trainer {bare_rate:,.0f} samples/s,"
            f" ratio x{worker_rate / bare_rate:.2f}",
        )
    )
    return outcomes


def _check_nccl(check: Check) -> Outcome:
    from engine.store import read_metadata

    path = check.session("auto", nproc_per_node=2)
    done = check.worker(path)
    metadata = read_metadata(path)
    device = metadata.environment.device if metadata.environment else None
    passed = (
        done.returncode == 0
        and metadata.status == "completed"
        and metadata.execution_status.world_size == 2
    )
    return Outcome(
        "2 processes, NCCL",
        passed,
        f"exit {done.returncode}, {metadata.status}, on {device}"
        + ("" if passed else f"\n{done.stdout[-3000:]}{done.stderr[-3000:]}"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument(
        "--on-cpu", action="store_true", help="run the checks on CPU (fp32, bf16), to try them"
    )
    args = parser.parse_args(argv)
    import torch

    if not args.on_cpu and not torch.cuda.is_available():
        print(
            f"gpu-check: no CUDA device here (torch {torch.__version__}, CUDA build"
            f" {torch.version.cuda or 'none'}): nothing was run"
        )
        return 0
    gpus = 0 if args.on_cpu else torch.cuda.device_count()
    where = (
        "CPU"
        if args.on_cpu
        else ", ".join(torch.cuda.get_device_name(index) for index in range(gpus))
    )
    print(f"gpu-check on {where}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as temp:
        check = Check(Path(temp), args.epochs, args.rows, args.on_cpu)
        for precision in _precisions(args.on_cpu):
            for outcome in _check_precision(check, precision):
                outcomes.append(outcome)
                print(f"{'ok  ' if outcome.passed else 'FAIL'} {outcome.check}: {outcome.detail}")
        if gpus >= 2:
            outcome = _check_nccl(check)
            outcomes.append(outcome)
            print(f"{'ok  ' if outcome.passed else 'FAIL'} {outcome.check}: {outcome.detail}")
        else:
            print("skip 2 processes, NCCL: fewer than 2 GPUs here")
    failed = [outcome.check for outcome in outcomes if not outcome.passed]
    print(f"gpu-check: {len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

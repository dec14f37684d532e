"""Shared set-up of the training tests: a tiny model, a tiny dataset, sessions, worker runs.

Every training test runs the real worker (``python -m engine.training.worker``) on a tiny BERT
(hidden 32, 2 layers, vocabulary ~500) built with the demo-model builder, over 160 rows of the
sample generator, with one torch thread: a full training takes a few seconds, most of a worker's
~10 s being the import of transformers. Independent worker runs go two at a time (two cores).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from engine.analysis.fingerprint import fingerprint_file
from engine.schema import DatasetConfig, ModelConfig, SplitConfig, TrainingMetadata
from engine.sessions.checkpoints import (
    REQUIRED_FILES,
    TRAINER_STATE_FILE,
    WEIGHT_FILE,
    write_marker,
)
from engine.sessions.creation import build_session_metadata, create_session
from engine.sessions.sample_data import generate_rows, render_csv
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_ROWS = 160
WORKER_TIMEOUT_S = 240
#: Worker exit code when it was killed by SIGKILL (subprocess reports -signal).
KILLED = -9


def build_tiny_model(directory: Path, seed: int = 0, layers: int = 2) -> Path:
    """The demo builder at test size, its tokenizer trained on the sample texts."""
    from engine.sessions.sample_data import SAMPLE_PATH
    from engine.training.demo_model import TINY_SPEC, build_demo_model, read_corpus

    spec = dataclasses.replace(TINY_SPEC, seed=seed, num_layers=layers)
    return build_demo_model(directory, read_corpus(SAMPLE_PATH, "text"), spec)


def write_tiny_dataset(path: Path, rows: int = TINY_ROWS, seed: int = 7) -> Path:
    """A small CSV from the sample generator (text, label, language, topics)."""
    path.write_bytes(render_csv(generate_rows(rows, seed=seed)))
    return path


def dataset_config(
    path: Path, *, multi_label: bool = False, split: SplitConfig | None = None
) -> DatasetConfig:
    """A DatasetConfig of the tiny dataset, as the analysis would record it."""
    labels = sorted({row["label"] for row in generate_rows(TINY_ROWS, seed=7)})
    common: dict[str, Any] = {
        "primary_file": str(path),
        "text_column": "text",
        "labels": labels,
        "fingerprint": fingerprint_file(path),
        "split": split or SplitConfig(),
    }
    if multi_label:
        return DatasetConfig(
            strategy="multi-label",
            label_column="topics",
            label_layout="list-column",
            label_delimiter=";",
            **common,
        )
    return DatasetConfig(label_column="label", label_layout="single-column", **common)


def tiny_model_config(models: Sequence[Path | str], **changes: Any) -> ModelConfig:
    """Hyperparameters under which the tiny model trains in a few seconds."""
    names = [str(model) for model in models]
    values: dict[str, Any] = {
        "training_mode": "benchmark" if len(names) > 1 else "quick",
        "selected_model": names[0],
        "selected_models": names,
        "epochs": 3,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "max_length": 32,
        "early_stopping_patience": 2,
        "torch_threads": 1,
        "seed": 42,
    }
    values.update(changes)
    return ModelConfig(**values)


def make_session(
    workspace: Workspace, config: DatasetConfig, model_config: ModelConfig, *, save: bool = True
) -> Path:
    """Create a pending session; its metadata path."""
    metadata = build_session_metadata({"dataset_config": config}, model_config)
    return create_session(SessionStore(workspace), metadata, save=save)


def new_workspace(root: Path) -> Workspace:
    workspace = Workspace(root)
    workspace.root.mkdir(parents=True, exist_ok=True)
    workspace.ensure()
    return workspace


def worker_env(kill_at: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env.pop("LLMTOOL_TEST_KILL_AT", None)
    if kill_at:
        env["LLMTOOL_TEST_KILL_AT"] = kill_at
    return env


def run_worker(
    metadata_path: Path, *, resume: bool = False, force: bool = False, kill_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the worker to its end; the completed process (returncode -9 when SIGKILLed)."""
    command = [sys.executable, "-m", "engine.training.worker", str(metadata_path)]
    command += ["--resume"] if resume else []
    command += ["--force"] if force else []
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=worker_env(kill_at),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=False,
    )


@dataclass
class Step:
    """One worker invocation of a scenario."""

    resume: bool = False
    kill_at: str | None = None
    force: bool = False


@dataclass
class Scenario:
    """Worker invocations run in order on one session (a run, then resumes)."""

    metadata_path: Path
    steps: list[Step]
    returncodes: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def run_scenarios(scenarios: Sequence[Scenario], parallel: int = 2) -> None:
    """Run independent scenarios, ``parallel`` at a time (each worker uses one thread)."""

    def play(scenario: Scenario) -> None:
        for step in scenario.steps:
            done = run_worker(
                scenario.metadata_path, resume=step.resume, force=step.force, kill_at=step.kill_at
            )
            scenario.returncodes.append(done.returncode)
            scenario.outputs.append(done.stdout + done.stderr)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(play, scenarios))


def load(path: Path) -> TrainingMetadata:
    return read_metadata(path)


def run_dir(path: Path) -> Path:
    metadata = read_metadata(path)
    assert metadata.output_paths.run_dir is not None
    return Path(metadata.output_paths.run_dir)


def model_files(path: Path) -> dict[str, bytes]:
    """Every final ``model.safetensors`` of a session, by path relative to its models dir."""
    metadata = read_metadata(path)
    assert metadata.output_paths.models_dir is not None
    root = Path(metadata.output_paths.models_dir)
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("model.safetensors"))
    }


def results_text(path: Path) -> str:
    return (run_dir(path) / "results.csv").read_text(encoding="utf-8")


def progress_events(path: Path) -> list[dict[str, Any]]:
    lines = (run_dir(path) / "progress.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluation_keys(path: Path) -> list[tuple[str, str, int]]:
    """(unit, split, step) of every evaluation event, in order."""
    return [
        (e["model"], e.get("split", "validation"), e["step"])
        for e in progress_events(path)
        if e["event"] == "evaluation"
    ]


def fake_checkpoint(unit_dir: Path, step: int, *, marker: bool = True, final: bool = False) -> Path:
    """A checkpoint directory with the files Trainer writes (weights as real safetensors)."""
    path = unit_dir / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file({"weight": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(path / WEIGHT_FILE))
    (path / TRAINER_STATE_FILE).write_text(json.dumps({"global_step": step}))
    for name in REQUIRED_FILES:
        if not (path / name).exists():
            (path / name).write_bytes(b"state" * step)
    if marker:
        write_marker(path, step=step, final=final, torch_threads=2, unit="m")
    return path


def test_tiny_dataset_is_deterministic(tmp_path: Path) -> None:
    first = write_tiny_dataset(tmp_path / "a.csv").read_bytes()
    second = write_tiny_dataset(tmp_path / "b.csv").read_bytes()
    assert first == second
    assert first.count(b"\n") == TINY_ROWS + 1

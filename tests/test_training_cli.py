"""``train``, ``resume``, ``relaunch`` and ``demo-model`` from the command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace
from llmtool_tui.cli import main
from tests.test_training_support import (
    REPO_ROOT,
    build_tiny_model,
    model_files,
    worker_env,
    write_tiny_dataset,
)

MakeMetadata = Callable[..., TrainingMetadata]
TINY_FLAGS = [
    "--epochs",
    "2",
    "--batch-size",
    "16",
    "--learning-rate",
    "3e-3",
    "--max-length",
    "32",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("cli") / "tiny")


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # The workers started by the commands inherit it: one thread each, as in the other tests.
    monkeypatch.setenv("LLMTOOL_TORCH_THREADS", "1")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _train_json(
    capsys: pytest.CaptureFixture[str], workspace: Workspace, dataset: Path, model: Path
) -> dict[str, Any]:
    """``train DATASET --model MODEL`` at test size, in the foreground; its JSON summary."""
    code, out, err = _run(
        capsys,
        "-w",
        str(workspace.root),
        "train",
        str(dataset),
        "--model",
        str(model),
        *TINY_FLAGS,
        "--json",
    )
    assert code == 0, err
    summary: dict[str, Any] = json.loads(out)
    return summary


def test_train_in_the_foreground_then_relaunch_reproduces_it(
    workspace: Workspace, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    summary = _train_json(capsys, workspace, dataset, tiny_model)
    assert summary["status"] == "completed" and summary["worker_exit_code"] == 0
    first = Path(summary["metadata_path"])
    metadata = read_metadata(first)
    config = metadata.training_model_config
    assert config.training_mode == "custom"  # hyperparameters were given
    assert (config.epochs, config.max_length, config.torch_threads) == (2, 32, 1)
    assert metadata.language_config.confirmed_languages  # the analysis ran

    code, out, err = _run(
        capsys, "-w", str(workspace.root), "relaunch", metadata.session_id, "--json"
    )
    assert code == 0, err
    second = Path(json.loads(out)["metadata_path"])
    relaunched = read_metadata(second)
    assert relaunched.training_session.parent_session_id == metadata.session_id
    assert relaunched.session_id != metadata.session_id
    assert (
        Path(relaunched.output_paths.results_csv or "").read_text()
        == Path(metadata.output_paths.results_csv or "").read_text()
    )
    assert model_files(second) == model_files(first)
    assert relaunched.execution_status.best_f1 == metadata.execution_status.best_f1


def test_a_detached_training_runs_on_while_an_unsaved_one_trains_in_the_foreground(
    workspace: Workspace, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    ws = ["-w", str(workspace.root)]
    started = time.monotonic()
    code, out, err = _run(
        capsys,
        *ws,
        "train",
        str(dataset),
        "--model",
        str(tiny_model),
        *TINY_FLAGS,
        "--detach",
        "--json",
    )
    assert code == 0, err
    assert time.monotonic() - started < 30  # the analysis, not the training
    launched = json.loads(out)
    detached = Path(launched["metadata_path"])

    # Meanwhile, in the same workspace: a foreground session that is not saved.
    code, out, err = _run(
        capsys,
        *ws,
        "train",
        str(dataset),
        "--model",
        str(tiny_model),
        *TINY_FLAGS,
        "--epochs",
        "1",
        "--no-save",
    )
    assert code == 0, err
    assert "cannot be resumed or listed" in out and "completed" in out
    (unsaved,) = workspace.runs_dir.glob("*/metadata.json")
    assert read_metadata(unsaved).status == "completed"
    code, _, err = _run(capsys, *ws, "resume", str(unsaved))
    assert code == 2 and "--no-save: it cannot be resumed" in err
    listed = [row.path for row in SessionStore(workspace).list().rows if row.readable]
    assert listed == [detached]

    deadline = time.monotonic() + 240
    while read_metadata(detached).status in ("pending", "running"):
        assert time.monotonic() < deadline, "the detached worker did not finish"
        time.sleep(0.5)
    status = read_metadata(detached).execution_status
    assert status.status == "completed"
    assert status.pid == launched["pid"]


def test_bad_input_exits_2_with_one_line(
    workspace: Workspace,
    tiny_model: Path,
    tmp_path: Path,
    store: SessionStore,
    make_metadata: MakeMetadata,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = ["-w", str(workspace.root)]
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    code, _, err = _run(capsys, *ws, "train", str(tmp_path / "missing.csv"))
    assert code == 2 and "does not exist" in err
    code, _, err = _run(capsys, *ws, "train", str(dataset), "--model", "nobody/uncached-model")
    assert code == 2 and "nobody/uncached-model" in err and "cache" in err
    code, _, err = _run(
        capsys, *ws, "train", str(dataset), "--model", str(tiny_model), "--epochs", "0"
    )
    assert code == 2 and "epochs must be a whole number from 1 to 1000 (got 0)" in err
    completed = store.create(make_metadata("20250101_000000", "completed", dataset=str(dataset)))
    code, _, err = _run(capsys, *ws, "resume", completed.name)
    assert code == 2 and "relaunch" in err
    code, _, err = _run(capsys, *ws, "relaunch", completed.name, "--set", "colour=blue")
    assert code == 2 and "unknown setting" in err
    code, _, err = _run(capsys, *ws, "resume", "train_19990101_000000")
    assert code == 2 and "no session matches" in err
    assert all(len(line.splitlines()) == 1 for line in [err])


def test_demo_model_command_builds_a_loadable_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "demo-model", str(tmp_path / "demo"), "--json")
    assert code == 0, err
    built = json.loads(out)
    assert built["texts"] >= 1000
    assert (Path(built["model_dir"]) / "model.safetensors").is_file()
    assert (Path(built["model_dir"]) / "tokenizer.json").is_file()


@pytest.mark.slow
def test_ctrl_c_in_the_foreground_checkpoints_and_exits_130(
    workspace: Workspace, tiny_model: Path, tmp_path: Path
) -> None:
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    # Many short epochs: the training is still running when Ctrl-C comes.
    command = [
        sys.executable,
        "-m",
        "llmtool_tui",
        "-w",
        str(workspace.root),
        "train",
        str(dataset),
        "--model",
        str(tiny_model),
        *TINY_FLAGS,
        "--epochs",
        "40",
        "--patience",
        "40",
    ]
    cli = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(),
    )
    deadline = time.monotonic() + 240
    while not list(workspace.runs_dir.glob("*/checkpoints/*/checkpoint-*")):
        assert cli.poll() is None and time.monotonic() < deadline, cli.communicate()
        time.sleep(0.1)
    cli.send_signal(signal.SIGINT)  # what the terminal sends to the CLI on Ctrl-C
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 130, (out, err)
    assert "stopping" in err and "interrupted" in out
    (path,) = SessionStore(workspace).directory.glob("*.json")
    status = read_metadata(path).execution_status
    assert status.status == "interrupted"
    assert "SIGTERM" in (status.error_message or "")
    assert status.last_checkpoint is not None and Path(status.last_checkpoint).is_dir()


@pytest.mark.slow
def test_train_demo_needs_nothing_but_the_package(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bundled sample and a demo model built in the workspace: no dataset, no download.
    code, out, err = _run(
        capsys, "-w", str(workspace.root), "train", "--demo", "--epochs", "1", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "completed"
    demo = workspace.models_dir / "demo-bert"
    assert summary["best_model"] == str(demo)
    metadata = read_metadata(Path(summary["metadata_path"]))
    assert metadata.dataset_config.total_samples >= 1000
    assert metadata.language_config.confirmed_languages == ["FR", "EN"]
    assert metadata.training_model_config.learning_rate == 1e-3  # the demo defaults


def test_train_reads_a_headerless_tsv_and_a_fasttext_file(
    workspace: Workspace, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_dataset_layouts import ROWS, write_headerless_tsv

    fasttext = tmp_path / "train.txt"
    fasttext.write_text("".join(f"__label__{row['label']} {row['text']}\n" for row in ROWS))
    expected = {
        write_headerless_tsv(tmp_path / "goemotions.tsv"): ("tsv", False, "multi-label"),
        fasttext: ("fasttext", None, "single-label"),
    }
    for dataset, (fmt, header, strategy) in expected.items():
        summary = _train_json(capsys, workspace, dataset, tiny_model)
        assert summary["status"] == "completed", summary
        config = read_metadata(Path(summary["metadata_path"])).dataset_config
        assert (config.format, config.header, config.strategy) == (fmt, header, strategy)
        assert config.total_samples == len(ROWS)

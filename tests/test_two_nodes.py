"""Two nodes through torchrun, for real: two launchers on this machine, one rank each, gloo.

Each "node" runs the command a user runs on each machine of a multi-node session (the one
``worker_command`` builds from the session's topology: ``python -m engine.training.launcher
--nnodes=2 --rdzv-backend=c10d --rdzv-endpoint=127.0.0.1:PORT ... -m engine.training.worker
METADATA``). A run completes with the node of rank 0 as the only writer and ends with the
weights of a one-node two-process run of the same global batch; a run whose second node loses
its launcher (SIGKILL) ends interrupted and resumes on two nodes to the uninterrupted run's
weights, bit for bit; a refusal exits 2 on both nodes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from engine.schema import ModelConfig
from engine.supervisor import worker_command
from tests.test_training_support import (
    REPO_ROOT,
    WORKER_TIMEOUT_S,
    build_tiny_model,
    dataset_config,
    load,
    make_session,
    model_files,
    new_workspace,
    progress_events,
    results_text,
    run_dir,
    tiny_model_config,
    worker_env,
    write_tiny_dataset,
)

# One worker runs them all: they share the module's runs.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("two_nodes")]

#: 128 training rows, a global batch of 16 (8 per rank): 8 steps per epoch, 24 in all.
TRAINING = {"batch_size": 8, "epochs": 3}
STEPS = 24


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_nodes(
    path: Path, *, resume: bool = False, second_node_kill_at: str | None = None
) -> list[subprocess.Popen[str]]:
    """Both nodes' launchers, started as a user starts them (a fresh rendezvous port each time);
    ``second_node_kill_at`` is the second node's fault hook (engine.training.faults)."""
    config = load(path).training_model_config
    endpoint = f"127.0.0.1:{_free_port()}"
    nodes = []
    for node_rank in range(config.nnodes):
        node = config.model_copy(update={"node_rank": node_rank, "rdzv_endpoint": endpoint})
        output = run_dir(path).parent / f"{path.stem}.node{node_rank}.out"
        nodes.append(
            subprocess.Popen(
                worker_command(path, resume=resume, config=node),
                cwd=REPO_ROOT,
                env=worker_env(second_node_kill_at if node_rank == 1 else None),
                stdout=output.open("a"),
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return nodes


def _finish(nodes: list[subprocess.Popen[str]]) -> list[int]:
    return [node.wait(timeout=WORKER_TIMEOUT_S) for node in nodes]


def _run_nodes(path: Path, *, resume: bool = False) -> list[int]:
    return _finish(_start_nodes(path, resume=resume))


def _two_node_config(model: Path) -> ModelConfig:
    # The endpoint is each run's own (see _start_nodes); the session records the topology.
    return tiny_model_config([model], nnodes=2, rdzv_endpoint="127.0.0.1:29400", **TRAINING)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("two-nodes")
    workspace = new_workspace(root / "ws")
    model = build_tiny_model(root / "tiny-model")
    config = dataset_config(write_tiny_dataset(root / "data.csv"))
    # Before any run, so that each session's run directory exists from the start.
    sessions = {
        "two_nodes": make_session(workspace, config, _two_node_config(model)),
        "one_node": make_session(
            workspace, config, tiny_model_config([model], nproc_per_node=2, **TRAINING)
        ),
        "killed": make_session(workspace, config, _two_node_config(model)),
    }
    for path in sessions.values():
        run_dir(path).mkdir(parents=True, exist_ok=True)
    return sessions


def _node_output(path: Path, node_rank: int) -> str:
    return (run_dir(path).parent / f"{path.stem}.node{node_rank}.out").read_text()


@dataclass(frozen=True)
class TwoNodeRun:
    """The uninterrupted two-node run every test compares with."""

    path: Path
    launchers: list[int]
    exit_codes: list[int]
    seen_running: bool
    """Whether the session showed as running with step progress while the nodes trained."""


@pytest.fixture(scope="module")
def two_node_run(setup: dict[str, Path]) -> TwoNodeRun:
    path = setup["two_nodes"]
    nodes = _start_nodes(path)
    # While both nodes train, the session and its progress are visible from anywhere that sees
    # the workspace (here, this process stands for the other node's user).
    seen_running = False
    while any(node.poll() is None for node in nodes):
        progress = run_dir(path) / "progress.jsonl"
        if load(path).status == "running" and any(
            event["event"] == "step" for event in _events(progress)
        ):
            seen_running = True
        time.sleep(0.1)
    return TwoNodeRun(path, [node.pid for node in nodes], _finish(nodes), seen_running)


def test_two_nodes_train_like_one_node_with_one_writer(
    setup: dict[str, Path], two_node_run: TwoNodeRun
) -> None:
    path = two_node_run.path
    assert two_node_run.exit_codes == [0, 0], _node_output(path, 0) + _node_output(path, 1)
    assert two_node_run.seen_running
    metadata = load(path)
    status = metadata.execution_status
    assert status.status == "completed" and status.world_size == 2
    # One writer: the launcher of the node that holds rank 0 is the recorded process.
    assert status.pid in two_node_run.launchers
    assert metadata.environment is not None
    assert "2 processes (DDP)" in (metadata.environment.device or "")
    steps = [event["step"] for event in progress_events(path) if event["event"] == "step"]
    assert steps == list(range(1, STEPS + 1))
    assert len(results_text(path).splitlines()) == 1 + 3

    assert _run_nodes(setup["one_node"]) == [0]
    assert load(setup["one_node"]).status == "completed"
    # The same world of two ranks, laid out on one machine or two: the same weights.
    assert model_files(path) == model_files(setup["one_node"])


def _worker_of(launcher: psutil.Process) -> psutil.Process:
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while True:
        for child in launcher.children():
            if "engine.training.worker" in child.cmdline():
                return child
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_lost_node_ends_interrupted_and_two_nodes_resume_exactly(
    setup: dict[str, Path], two_node_run: TwoNodeRun
) -> None:
    path = setup["killed"]
    # The second node's rank freezes itself in step 10 (after the first epoch's checkpoint at
    # step 8, before the end at 24): the kill lands mid-run however fast the machine trains.
    nodes = _start_nodes(path, second_node_kill_at="mid_step:10:SIGSTOP")
    survivor, lost = nodes
    rank = _worker_of(psutil.Process(lost.pid))
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while rank.status() != psutil.STATUS_STOPPED:
        assert all(node.poll() is None for node in nodes), "a node ended before step 10"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # The second node (not the rendezvous's host) is lost; rank 0, the writer, may be on either.
    os.kill(lost.pid, signal.SIGKILL)
    assert lost.wait(timeout=10) == -signal.SIGKILL
    rank.send_signal(signal.SIGCONT)
    # The orphaned rank asks every rank to stop: the session checkpoints and ends interrupted,
    # whichever node holds rank 0.
    assert survivor.wait(timeout=WORKER_TIMEOUT_S) == 3
    psutil.wait_procs([rank], timeout=WORKER_TIMEOUT_S)
    metadata = load(path)
    assert metadata.status == "interrupted"
    assert "resume continues from checkpoint-" in (metadata.execution_status.error_message or "")
    lost_output = _node_output(path, 1)
    assert f"its launcher (pid {lost.pid}) ended; stopping every rank" in lost_output

    assert _run_nodes(path, resume=True) == [0, 0], _node_output(path, 0) + _node_output(path, 1)
    assert load(path).status == "completed"
    assert model_files(path) == model_files(two_node_run.path)
    assert results_text(path) == results_text(two_node_run.path)


def _events(progress: Path) -> list[dict[str, object]]:
    if not progress.is_file():
        return []
    lines = progress.read_text(encoding="utf-8").splitlines()
    # The last line may be half written.
    return [json.loads(line) for line in lines[:-1] if line.strip()]


def test_a_refusal_under_torchrun_exits_2_on_every_node(two_node_run: TwoNodeRun) -> None:
    path = two_node_run.path
    assert load(path).status == "completed"
    # Started again without --resume: rank 0 refuses, and every rank ends with its answer.
    assert _run_nodes(path) == [2, 2]
    outputs = _node_output(path, 0) + _node_output(path, 1)
    assert f"worker: cannot train {load(path).session_id}: session" in outputs
    assert "is completed, not pending" in outputs
    assert load(path).status == "completed"

"""The precision a session trains in: chosen for the hardware, recorded, kept on resume.

Fast: the decision (``auto`` on CPU, on a bf16 GPU, on an older GPU; what each explicit choice
gives or why it is refused), the TrainingArguments built for each precision on a mocked CUDA
capability, the flags that set it, and the resume refusal when it would change. Slower (the real
worker on CPU, about 15 s a run): ``auto`` trains and records fp32, an explicit bf16 trains in
bf16 through CPU autocast, an explicit fp16 is refused with one line (exit 2), and a bf16 session
stopped and set to fp32 is refused on resume unless forced.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from transformers import TrainingArguments

from engine.errors import BadInputError
from engine.schema import Environment, ModelConfig, TrainingMetadata
from engine.sessions.creation import apply_overrides
from engine.sessions.resumability import assess_resume
from engine.store import SessionStore
from engine.training.precision import Hardware, precision_arguments, resolve_precision
from engine.workspace import Workspace
from tests.test_training_support import (
    build_tiny_model,
    dataset_config,
    fake_checkpoint,
    load,
    make_session,
    new_workspace,
    progress_events,
    run_worker,
    tiny_model_config,
    write_tiny_dataset,
)

CPU = Hardware(cuda=False)
#: An A100 or later: native bf16 and TF32.
AMPERE_GPU = Hardware(cuda=True, bf16=True, tf32=True)
#: A V100 or a T4: fp16 only, no TF32.
OLDER_GPU = Hardware(cuda=True, bf16=False, tf32=False)


@pytest.mark.parametrize(
    ("hardware", "chosen"), [(CPU, "fp32"), (AMPERE_GPU, "bf16"), (OLDER_GPU, "fp16")]
)
def test_auto_chooses_for_the_hardware(hardware: Hardware, chosen: str) -> None:
    assert resolve_precision("auto", hardware) == chosen


def test_explicit_choices_are_kept_where_they_can_train() -> None:
    assert resolve_precision("fp32", AMPERE_GPU) == "fp32"
    assert resolve_precision("fp16", AMPERE_GPU) == "fp16"
    assert resolve_precision("fp16", OLDER_GPU) == "fp16"
    # Trainer trains in bf16 on CPU through torch's CPU autocast.
    assert resolve_precision("bf16", CPU) == "bf16"


@pytest.mark.parametrize(
    ("requested", "hardware", "needs"),
    [("fp16", CPU, "needs a CUDA GPU"), ("bf16", OLDER_GPU, "Ampere or later")],
)
def test_a_precision_the_hardware_lacks_is_refused_in_one_line(
    requested: str, hardware: Hardware, needs: str
) -> None:
    with pytest.raises(BadInputError) as refused:
        resolve_precision(requested, hardware)  # type: ignore[arg-type]
    message = str(refused.value)
    assert needs in message and "\n" not in message
    assert "--set precision=auto" in message
    assert "wizard's custom mode" in refused.value.in_app()
    assert "--set" not in refused.value.in_app()


def _arguments(precision: str, hardware: Hardware) -> tuple[TrainingArguments, list[bool]]:
    """The runner's TrainingArguments on ``hardware``, the CUDA capability checks mocked."""
    from engine.training.runner import TrainingUnit, training_arguments

    unit = TrainingUnit("m", mock.Mock(), None, Path("/unused"), Path("/unused/checkpoints"))
    tf32_calls: list[bool] = []
    with (
        mock.patch("transformers.training_args.is_torch_bf16_gpu_available", return_value=True),
        mock.patch(
            "transformers.training_args.is_torch_tf32_available", return_value=hardware.tf32
        ),
        # Recorded instead of done: the test process keeps its own matmul settings.
        mock.patch("transformers.training_args.enable_tf32", side_effect=tf32_calls.append),
    ):
        args = training_arguments(
            ModelConfig(precision=precision),  # type: ignore[arg-type]
            unit,
            steps_per_epoch=10,
            hardware=hardware,
            precision=precision,  # type: ignore[arg-type]
            distributed=False,
        )
    return args, tf32_calls


@pytest.mark.parametrize(
    ("precision", "hardware", "expected", "tf32"),
    [
        ("bf16", AMPERE_GPU, {"bf16": True, "fp16": False, "mixed_precision": "bf16"}, [True]),
        ("fp16", AMPERE_GPU, {"bf16": False, "fp16": True, "mixed_precision": "fp16"}, [True]),
        # Asked for explicitly, fp32 stays IEEE fp32: TF32 turned off.
        ("fp32", AMPERE_GPU, {"bf16": False, "fp16": False, "mixed_precision": "no"}, [False]),
        # No TF32 on the GPU: nothing to turn on or off.
        ("fp16", OLDER_GPU, {"bf16": False, "fp16": True, "mixed_precision": "fp16"}, []),
        ("fp32", CPU, {"bf16": False, "fp16": False, "mixed_precision": "no"}, []),
        ("bf16", CPU, {"bf16": True, "fp16": False, "mixed_precision": "bf16"}, []),
    ],
)
def test_training_arguments_of_each_precision(
    precision: str, hardware: Hardware, expected: dict[str, object], tf32: list[bool]
) -> None:
    args, tf32_calls = _arguments(precision, hardware)
    assert {key: getattr(args, key) for key in expected} == expected
    assert args.use_cpu is not hardware.cuda
    assert tf32_calls == tf32
    chosen = precision_arguments(precision, hardware)  # type: ignore[arg-type]
    assert chosen["tf32"] == (tf32[0] if tf32 else None)


def test_train_flag_and_relaunch_setting_choose_the_precision() -> None:
    from llmtool_tui.cli import build_parser
    from llmtool_tui.cli.training import _model_config

    args = build_parser().parse_args(["train", "data.csv", "--model", "m", "--precision", "bf16"])
    config = _model_config(args, ["m"], demo_model=False)
    assert (config.precision, config.training_mode) == ("bf16", "quick")
    assert ModelConfig().precision == "auto"
    assert apply_overrides(ModelConfig(), {"precision": "fp16"}).precision == "fp16"
    with pytest.raises(BadInputError, match="--set precision=fp8"):
        apply_overrides(ModelConfig(), {"precision": "fp8"})
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["train", "data.csv", "--precision", "fp8"])
    assert exited.value.code == 2


@pytest.fixture
def stopped(tmp_path: Path) -> tuple[Workspace, Path]:
    """An interrupted session whose checkpoint was written in bf16, set to ``auto``."""
    workspace = new_workspace(tmp_path / "ws")
    dataset = write_tiny_dataset(tmp_path / "data.csv")
    # fake_checkpoint records 2 threads: the same here, so that precision alone differs.
    config = tiny_model_config(["m"], torch_threads=2)
    path = make_session(workspace, dataset_config(dataset), config)

    def mutate(metadata: TrainingMetadata) -> None:
        metadata.execution_status.status = "interrupted"
        metadata.environment = Environment(precision="bf16")

    SessionStore(workspace).update(path, mutate)
    fake_checkpoint(workspace.run_dir(load(path).session_id) / "checkpoints" / "m", 8)
    return workspace, path


def test_resume_refuses_a_change_of_precision_unless_forced(
    stopped: tuple[Workspace, Path],
) -> None:
    workspace, path = stopped
    assert assess_resume(workspace, load(path), precision="bf16").resumable
    refused = assess_resume(workspace, load(path), precision="fp16")
    assert not refused.resumable and refused.obstacle is not None
    blocker = refused.blocker or ""
    assert "written in bf16 mixed precision and this run would train in fp16" in blocker
    assert "loss scale starts again" in blocker
    assert "precision auto chose fp16 on this machine" in blocker
    assert blocker.endswith("resume with --force to accept that")
    assert refused.obstacle.in_app().endswith("press r to resume anyway, after a warning")
    forced = assess_resume(workspace, load(path), force=True, precision="fp16")
    assert forced.resumable
    assert any("would train in fp16" in warning for warning in forced.warnings)


def test_front_ends_leave_auto_to_the_worker_and_check_an_explicit_setting(
    stopped: tuple[Workspace, Path],
) -> None:
    workspace, path = stopped
    # Without torch the front ends cannot tell what auto chooses: the worker checks it.
    assert assess_resume(workspace, load(path)).resumable

    def explicit(metadata: TrainingMetadata) -> None:
        metadata.training_model_config.precision = "fp32"

    SessionStore(workspace).update(path, explicit)
    refused = assess_resume(workspace, load(path))
    assert "and this run would train in fp32" in (refused.blocker or "")
    assert "set model_config.precision back to bf16" in (refused.blocker or "")


def test_sessions_from_before_the_precision_field_trained_in_fp32(
    stopped: tuple[Workspace, Path],
) -> None:
    workspace, path = stopped

    def older(metadata: TrainingMetadata) -> None:
        metadata.environment = Environment()

    SessionStore(workspace).update(path, older)
    assert assess_resume(workspace, load(path), precision="fp32").resumable
    assert not assess_resume(workspace, load(path), precision="bf16").resumable


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, Path]:
    root = tmp_path_factory.mktemp("precision")
    return (
        new_workspace(root / "ws"),
        build_tiny_model(root / "tiny-model"),
        write_tiny_dataset(root / "data.csv"),
    )


def _precision_used(path: Path) -> str | None:
    environment = load(path).environment
    assert environment is not None
    return environment.precision


def _step_losses(path: Path) -> list[float]:
    return [event["loss"] for event in progress_events(path) if event["event"] == "step"]


def test_cpu_trains_in_fp32_by_default_and_in_bf16_when_asked(
    tiny: tuple[Workspace, Path, Path],
) -> None:
    workspace, model, dataset = tiny
    auto = make_session(workspace, dataset_config(dataset), tiny_model_config([model]))
    bf16 = make_session(
        workspace, dataset_config(dataset), tiny_model_config([model], precision="bf16")
    )
    for path in (auto, bf16):
        done = run_worker(path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert load(path).status == "completed"
    assert (_precision_used(auto), _precision_used(bf16)) == ("fp32", "bf16")
    # The same data order and initialisation: only bf16 autocast can make the losses differ.
    assert len(_step_losses(auto)) == len(_step_losses(bf16)) > 0
    assert _step_losses(auto) != _step_losses(bf16)


def test_fp16_on_cpu_is_refused_in_one_line(tiny: tuple[Workspace, Path, Path]) -> None:
    workspace, model, dataset = tiny
    path = make_session(
        workspace, dataset_config(dataset), tiny_model_config([model], precision="fp16")
    )
    done = run_worker(path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("worker:")]
    assert lines == [
        f"worker: cannot train {load(path).session_id}: precision fp16 needs a CUDA GPU (its loss"
        " scaling is a GPU feature) and this machine has none; relaunch with --set"
        " precision=auto (or fp32)"
    ]
    metadata = load(path)
    assert metadata.status == "pending" and metadata.environment is None


def test_worker_refuses_to_resume_in_another_precision_unless_forced(
    tiny: tuple[Workspace, Path, Path],
) -> None:
    workspace, model, dataset = tiny
    path = make_session(
        workspace, dataset_config(dataset), tiny_model_config([model], precision="bf16")
    )
    assert run_worker(path, kill_at="mid_step:12:SIGTERM").returncode == 3
    assert load(path).status == "interrupted"

    def to_fp32(metadata: TrainingMetadata) -> None:
        metadata.training_model_config.precision = "fp32"

    SessionStore(workspace).update(path, to_fp32)
    refused = run_worker(path, resume=True)
    assert refused.returncode == 2
    assert "written in bf16 mixed precision and this run would train in fp32" in refused.stderr
    assert load(path).status == "interrupted"
    forced = run_worker(path, resume=True, force=True)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert load(path).status == "completed"
    assert _precision_used(path) == "fp32"

"""The Trainer subclass and callback through which a worker trains exactly and reports everything.

What Trainer and its callbacks do not offer, and is therefore written here:

* Evaluation leaves the random number generators untouched. Creating the evaluation data loader
  draws from the global torch generator, so a checkpoint written at a step where an evaluation
  follows (a step-based save at an epoch's end, a stop request on an epoch's last step) holds the
  pre-evaluation state, while the uninterrupted run goes on from the post-evaluation one: the
  resumed run would then train with other dropout masks. Saving and restoring the states around
  ``evaluate`` makes the order of evaluation and checkpoint irrelevant.
* Every checkpoint gets a completion marker once all its files are fsynced (``checkpoints.py``),
  and older checkpoints are pruned only after that marker exists.
* A stop request (SIGTERM/SIGINT) checkpoints at the end of the current step and stops. A stop
  that falls on a step where Trainer evaluates anyway (end of an epoch, evaluation step) lets
  that evaluation and checkpoint happen as they would have; otherwise the cut epoch is not
  evaluated, so the history of a stopped-and-resumed run equals an uninterrupted run's.
  (Trainer's ``enable_jit_checkpoint`` is not used: it saves before the optimizer step, with the
  RNG already advanced by that step's dropout, so resuming from it is not exact.)
* Progress events, results rows and the heartbeat snapshot, through the Recorder.
* Under DDP (torchrun): the ranks agree on a stop request before acting on it, rank 0 alone
  writes the completion marker, after every rank saved its RNG state, and the reported training
  loss is the true mean loss (see ``SessionTrainer``).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback

from engine.sessions.checkpoints import prune, write_marker
from engine.training import faults
from engine.training.distributed import any_rank, barrier
from engine.training.metrics import scores_from_metrics
from engine.training.recorder import EvaluationRecord, Recorder
from engine.training.signals import StopRequest

#: Splits an evaluation can be on, by Trainer metric prefix.
SPLIT_PREFIXES = {"eval_": "validation", "test_": "test"}


@contextlib.contextmanager
def preserved_rng_state() -> Iterator[None]:
    """Run a block and put every random generator back where it was (python, numpy, torch)."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    cpu_state = torch.random.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.random.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


class SessionTrainer(Trainer):
    """Trainer whose evaluations do not move the random generators (see the module docstring).

    It also never passes ``num_items_in_batch`` to the model. Trainer does so for any model whose
    ``forward`` takes ``**kwargs`` (every model of transformers 5), assuming that the model then
    sums its loss over the items and divides by that global count. Sequence-classification heads
    ignore it and return the mean over their own batch; Trainer, still assuming a sum, multiplies
    the loss by the number of processes (``average_tokens_across_devices``) and skips the
    division by the gradient accumulation steps. Under DDP with two processes the reported loss,
    and the gradients, were thus twice the true ones. With the flag off, each rank's loss is its
    batch mean, DDP averages the gradients, and the logged loss is the mean over ranks: the loss
    of the global batch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False

    def _save_rng_state(self, output_dir: str) -> None:
        super()._save_rng_state(output_dir)
        if self.args.world_size > 1 and self.args.process_index == 0:
            # Under DDP Trainer writes rng_state_<rank>.pth only; checkpoints.py requires
            # rng_state.pth in every complete checkpoint. Rank 0's state is the one a forced
            # resume on a single process continues from.
            shutil.copyfile(
                Path(output_dir) / "rng_state_0.pth", Path(output_dir) / "rng_state.pth"
            )

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        with preserved_rng_state():
            return super().evaluate(*args, **kwargs)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        if _internal_call:
            faults.reached("mid_save")


@dataclass(frozen=True)
class UnitInfo:
    """Which unit a callback reports for."""

    name: str
    """Display name and ``models_trained`` entry (``model`` or ``model [label]``)."""
    model: str
    label: str | None
    steps_per_epoch: int
    evaluates_per_epoch: bool
    """Evaluation at each epoch's end (else every ``eval_steps``)."""
    torch_threads: int


class RunCallback(TrainerCallback):
    """Reports progress, finalises checkpoints, honours stop requests and test kill points."""

    def __init__(self, unit: UnitInfo, recorder: Recorder, stop: StopRequest) -> None:
        self.unit = unit
        self.recorder = recorder
        self.stop = stop
        self.trainer: Trainer | None = None
        self.cut_epoch = False
        self._last_log_time = time.monotonic()
        self._last_log_step = 0

    def attach(self, trainer: Trainer) -> None:
        """Give the callback its trainer (to read the early-stopping state when saving)."""
        self.trainer = trainer

    # -- progress --------------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last_log_time = time.monotonic()
        self._last_log_step = state.global_step
        self.recorder.snapshot.max_steps = state.max_steps
        self.recorder.snapshot.step = state.global_step

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not logs or "loss" not in logs:
            return
        now = time.monotonic()
        steps = state.global_step - self._last_log_step
        elapsed = now - self._last_log_time
        samples_per_second = (
            steps
            * args.train_batch_size
            * args.gradient_accumulation_steps
            * args.world_size
            / elapsed
            if steps > 0 and elapsed > 0
            else None
        )
        self._last_log_time, self._last_log_step = now, state.global_step
        self.recorder.step(
            self.unit.name,
            state.global_step,
            state.max_steps,
            state.epoch,
            float(logs["loss"]),
            logs.get("learning_rate"),
            samples_per_second,
        )

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        faults.reached("eval_step")

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not metrics:
            return
        for prefix, split in SPLIT_PREFIXES.items():
            if prefix + "macro_f1" in metrics:
                scores = scores_from_metrics(metrics, prefix)
                self.recorder.evaluation(
                    EvaluationRecord(
                        unit=self.unit.name,
                        model=self.unit.model,
                        label=self.unit.label,
                        split=split,
                        step=state.global_step,
                        epoch=state.epoch,
                        eval_loss=metrics.get(prefix + "loss"),
                        accuracy=scores.accuracy,
                        macro_f1=scores.macro_f1,
                        per_class_f1=scores.per_class_f1,
                        predicted_counts=scores.predicted_counts,
                    )
                )
                if split == "validation":
                    faults.reached("after_eval")

    # -- stop requests ---------------------------------------------------------------------

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        faults.reached("mid_step")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.recorder.snapshot.step = state.global_step
        self.recorder.snapshot.epoch = state.epoch
        # Every rank must stop at the same step (see distributed.any_rank): each acts on the agreed
        # answer, never on its own flag, which a signal may set right after the agreement.
        agreed = any_rank(self.stop.requested)
        if agreed and not self.stop.requested:
            self.stop.request("another rank's stop request")
        if not agreed or control.should_training_stop:
            return
        control.should_training_stop = True
        if control.should_save or (
            self.unit.evaluates_per_epoch and state.global_step % self.unit.steps_per_epoch == 0
        ):
            # Trainer evaluates and checkpoints here anyway (epoch end or evaluation step):
            # let it, so that the interrupted run's history matches an uninterrupted one.
            return
        control.should_save = True
        self.cut_epoch = True

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.cut_epoch:
            # The epoch was cut by a stop request and already checkpointed: an evaluation here
            # would be one that an uninterrupted run never makes.
            control.should_evaluate = False
            control.should_save = False

    # -- checkpoints -----------------------------------------------------------------------

    def _training_ended(self, state: Any) -> bool:
        if state.global_step >= state.max_steps:
            return True
        if self.trainer is None:
            return False
        for callback in self.trainer.callback_handler.callbacks:
            # Looked up at each save: on resume Trainer replaces the callback with a restored copy.
            if isinstance(callback, EarlyStoppingCallback):
                return bool(
                    callback.early_stopping_patience_counter >= callback.early_stopping_patience
                )
        return False

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        # The marker lists the files present: every rank's RNG state must be written first.
        barrier()
        if state.is_world_process_zero:
            write_marker(
                checkpoint,
                step=state.global_step,
                final=self._training_ended(state),
                torch_threads=self.unit.torch_threads,
                unit=self.unit.name,
            )
            faults.reached("after_checkpoint")
            best = state.best_model_checkpoint
            prune(Path(args.output_dir), keep={Path(best)} if best else set())
            self.recorder.checkpoint_saved(self.unit.name, state.global_step, checkpoint)
        # No rank goes on to read checkpoints (newest_complete) before the marker exists.
        barrier()
        if any_rank(self.stop.requested):
            control.should_training_stop = True

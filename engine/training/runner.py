"""Training of a session's units with Trainer: one unit per model, or per label in distributed mode.

Modes:

* ``quick`` and ``custom``: one model (the session's hyperparameters; quick sessions were given
  sensible defaults when they were created).
* ``benchmark``: every selected model on the same split; the best macro F1 wins.
* ``distributed``: one binary (one-vs-all) model per label.

Multi-label data in the other modes trains one model with a multi-label head.

Each unit trains under ``checkpoints/<unit>/`` of the run directory, evaluates and checkpoints at
each epoch's end (or every ``eval_steps``), stops early after ``early_stopping_patience``
evaluations without a better macro F1, and ends with its best checkpoint saved as safetensors,
with its tokenizer and label map, under ``models/<session_id>/<model>/``. A unit whose result
is recorded is skipped on resume; an unfinished one continues from its newest complete checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    PrinterCallback,
    TrainingArguments,
    enable_full_determinism,
)

from engine.errors import BadInputError
from engine.files import expand_user
from engine.schema import ModelConfig, Precision
from engine.sessions.checkpoints import (
    CHECKPOINTS_DIR_NAME,
    TRAINER_STATE_FILE,
    CheckpointInfo,
    discard_incomplete,
    newest_complete,
    read_unit_result,
    write_unit_result,
)
from engine.sessions.models import ResolvedModel
from engine.training import faults
from engine.training.callbacks import RunCallback, SessionTrainer, UnitInfo
from engine.training.data import SessionData, encode_texts, subset, unit_labels
from engine.training.distributed import Ranks, any_rank, barrier
from engine.training.metrics import MACRO_F1, metrics_function
from engine.training.precision import Hardware, precision_arguments
from engine.training.recorder import Recorder
from engine.training.signals import StopRequest
from engine.workspace import safe_name

LABEL_MAP_FILE = "label_map.json"


class Interrupted(Exception):
    """Training stopped on request (SIGTERM/SIGINT) after checkpointing."""


@dataclass(frozen=True)
class TrainingUnit:
    """One model to train."""

    name: str
    """``model`` or, in distributed mode, ``model [label]``; listed in ``models_trained``."""
    model: ResolvedModel
    label: str | None
    model_dir: Path
    """Where the final model goes."""
    checkpoint_dir: Path


@dataclass(frozen=True)
class UnitResult:
    """A finished unit."""

    name: str
    model: str
    label: str | None
    best_f1: float
    model_path: Path


def model_dir_name(model: str) -> str:
    """Directory name of a model under ``models/<session_id>/``: a hub id, or a local dir's name."""
    local = expand_user(model)
    if local.is_absolute() or model.startswith((".", "~")) or local.exists():
        return safe_name(local.name)
    return safe_name(model)


def plan_units(
    config: ModelConfig,
    resolved: list[ResolvedModel],
    data: SessionData,
    models_root: Path,
    run_dir: Path,
) -> list[TrainingUnit]:
    """The units of a session, in training order.

    Raises:
        BadInputError: distributed mode with a label the data does not have.
    """
    checkpoints = run_dir / CHECKPOINTS_DIR_NAME
    units: list[TrainingUnit] = []
    if config.training_mode == "distributed":
        model = resolved[0]
        labels = list(config.labels_to_train) or list(data.label_names)
        unknown = [label for label in labels if label not in data.label_names]
        if unknown:
            raise BadInputError(
                f"labels_to_train names {', '.join(map(repr, unknown))}, which the data does not"
                f" have (labels: {', '.join(data.label_names)})"
            )
        base = models_root / model_dir_name(model.name)
        for label in labels:
            units.append(
                TrainingUnit(
                    name=f"{model.name} [{label}]",
                    model=model,
                    label=label,
                    model_dir=base / safe_name(label),
                    checkpoint_dir=checkpoints
                    / f"{model_dir_name(model.name)}__{safe_name(label)}",
                )
            )
        return units
    chosen = resolved if config.training_mode == "benchmark" else resolved[:1]
    taken: set[str] = set()
    for model in chosen:
        directory = model_dir_name(model.name)
        if directory in taken:
            # Two local models with the same folder name: keep both results apart.
            directory = f"{directory}_{len(taken) + 1}"
        taken.add(directory)
        units.append(
            TrainingUnit(
                name=model.name,
                model=model,
                label=None,
                model_dir=models_root / directory,
                checkpoint_dir=checkpoints / directory,
            )
        )
    return units


def training_arguments(
    config: ModelConfig,
    unit: TrainingUnit,
    steps_per_epoch: int,
    hardware: Hardware,
    precision: Precision,
    distributed: bool,
) -> TrainingArguments:
    """Trainer's arguments for one unit, on this hardware, in this precision."""
    use_cpu = not hardware.cuda
    max_steps = steps_per_epoch * config.epochs
    by_steps = config.eval_steps is not None
    strategy = "steps" if by_steps else "epoch"
    return TrainingArguments(
        output_dir=str(unit.checkpoint_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        # transformers 5 reads a warmup_steps below 1 as a share of the training steps.
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=config.eval_steps,
        # Only read with the "steps" strategy; 500 is Trainer's own default.
        save_steps=config.eval_steps or 500,
        logging_strategy="steps",
        # Every step up to 1,000 steps, then about 1,000 step events in all.
        logging_steps=max(1, math.ceil(max_steps / 1000)),
        load_best_model_at_end=True,
        metric_for_best_model=MACRO_F1,
        greater_is_better=True,
        # Pruned by RunCallback once the new checkpoint is proven complete (see checkpoints.py).
        save_total_limit=None,
        restore_callback_states_from_checkpoint=True,
        seed=config.seed,
        data_seed=config.seed,
        full_determinism=True,
        report_to=[],
        disable_tqdm=True,
        use_cpu=use_cpu,
        **precision_arguments(precision, hardware),
        # Under torchrun on CPU: gloo, the one backend torch has there (nccl needs GPUs).
        ddp_backend="gloo" if use_cpu and distributed else None,
        # Every parameter of a classifier takes part in the loss: no extra graph traversal.
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        log_level="warning",
    )


def _save_final_model(
    model: Any, tokenizer: Any, unit: TrainingUnit, label_names: list[str], multi_label: bool
) -> Path:
    """Save the best model, tokenizer and label map; replaces the directory atomically."""
    target = unit.model_dir
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    model.save_pretrained(temp)
    tokenizer.save_pretrained(temp)
    label_map = {
        "labels": label_names,
        "id2label": {str(i): name for i, name in enumerate(label_names)},
        "label2id": {name: i for i, name in enumerate(label_names)},
        "multi_label": multi_label,
        "one_vs_all_label": unit.label,
        "base_model": unit.model.name,
    }
    (temp / LABEL_MAP_FILE).write_text(
        json.dumps(label_map, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
    return target


def _best_of_final_checkpoint(final: CheckpointInfo) -> tuple[Path, float | None]:
    """Best checkpoint and metric recorded in a final checkpoint's trainer state."""
    state = json.loads((final.path / TRAINER_STATE_FILE).read_text(encoding="utf-8"))
    recorded = state.get("best_model_checkpoint")
    best = final.path
    if recorded:
        # The workspace may have moved since: find the checkpoint by name next to the final one.
        candidate = final.path.parent / Path(recorded).name
        best = candidate if candidate.is_dir() else best
    metric = state.get("best_metric")
    return best, float(metric) if metric is not None else None


class UnitTrainer:
    """Trains the units of one session, in one worker process."""

    def __init__(
        self,
        config: ModelConfig,
        data: SessionData,
        recorder: Recorder,
        stop: StopRequest,
        torch_threads: int,
        hardware: Hardware,
        precision: Precision,
        ranks: Ranks | None = None,
    ) -> None:
        self.config = config
        self.ranks = ranks or Ranks()
        self.data = data
        self.recorder = recorder
        self.stop = stop
        self.torch_threads = torch_threads
        self.hardware = hardware
        self.precision = precision
        self._encoded: dict[str, list[dict[str, list[int]]]] = {}

    def finished(self, unit: TrainingUnit) -> UnitResult | None:
        """The recorded result of a unit that already finished, else None."""
        result = read_unit_result(unit.checkpoint_dir)
        if result is None:
            return None
        return UnitResult(
            unit.name,
            unit.model.name,
            unit.label,
            float(result["best_f1"]),
            Path(result["model_path"]),
        )

    def _encode(self, tokenizer: Any, source: str) -> list[dict[str, list[int]]]:
        # Distributed mode trains one model per label with the same tokenizer: tokenize once.
        if source not in self._encoded:
            self._encoded[source] = encode_texts(tokenizer, self.data.texts, self.config.max_length)
        return self._encoded[source]

    def train(self, unit: TrainingUnit, index: int, total: int) -> UnitResult:
        """Train (or finish) one unit and return its result.

        Raises:
            Interrupted: a stop was requested; the unit was checkpointed first.
        """
        if self.ranks.primary:
            discarded = discard_incomplete(unit.checkpoint_dir)
            for path in discarded:
                self.recorder.warning(f"{unit.name}: removed incomplete checkpoint {path.name}")
        # Every rank must see the same checkpoints as rank 0 before choosing one.
        barrier()
        resume_from = newest_complete(unit.checkpoint_dir)
        self.recorder.model_started(
            unit.name, index, total, resume_from.path.name if resume_from else None, unit.label
        )

        tokenizer = AutoTokenizer.from_pretrained(
            unit.model.source, local_files_only=unit.model.local_files_only
        )
        label_names, labels = unit_labels(self.data, unit.label)
        multi_label = self.data.multi_label and unit.label is None
        features = self._encode(tokenizer, unit.model.source)
        train_set = subset(features, labels, self.data.train)
        validation_set = subset(features, labels, self.data.validation)

        # The classification head is initialised from the global generator: seed it first, so
        # that every unit starts the same way whether or not others trained in this process.
        enable_full_determinism(self.config.seed)
        model_source = unit.model.source
        final_best = None
        if resume_from is not None and resume_from.final:
            final_best = _best_of_final_checkpoint(resume_from)
            model_source = str(final_best[0])
        model = AutoModelForSequenceClassification.from_pretrained(
            model_source,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            problem_type=(
                "multi_label_classification" if multi_label else "single_label_classification"
            ),
            ignore_mismatched_sizes=True,
            local_files_only=unit.model.local_files_only or final_best is not None,
        )
        # Each optimizer step takes one batch per rank (Trainer shards whole batches, cycling back
        # to the epoch's first ones to give every rank the same number).
        batches = math.ceil(len(train_set) / self.config.batch_size)
        steps_per_epoch = math.ceil(batches / self.ranks.world_size)
        args = training_arguments(
            self.config,
            unit,
            steps_per_epoch,
            self.hardware,
            self.precision,
            self.ranks.distributed,
        )
        callback = RunCallback(
            UnitInfo(
                name=unit.name,
                model=unit.model.name,
                label=unit.label,
                steps_per_epoch=steps_per_epoch,
                evaluates_per_epoch=self.config.eval_steps is None,
                torch_threads=self.torch_threads,
            ),
            self.recorder,
            self.stop,
        )
        callbacks: list[Any] = [callback]
        if self.config.early_stopping:
            callbacks.insert(0, EarlyStoppingCallback(self.config.early_stopping_patience))
        trainer = SessionTrainer(
            model=model,
            args=args,
            train_dataset=train_set,
            eval_dataset=validation_set,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=metrics_function(label_names, multi_label),
            callbacks=callbacks,
        )
        # train.log and progress.jsonl carry the logs; the printer would repeat them in worker.out.
        trainer.remove_callback(PrinterCallback)
        callback.attach(trainer)

        if final_best is not None:
            self.recorder.info(f"{unit.name}: training had ended; saving its best checkpoint")
            best_f1 = final_best[1]
        else:
            if any_rank(self.stop.requested):
                # Asked to stop while the model was loading: nothing new to checkpoint.
                raise Interrupted(f"stopped by {self.stop.signal_name} before {unit.name}")
            trainer.train(resume_from_checkpoint=str(resume_from.path) if resume_from else None)
            finished = newest_complete(unit.checkpoint_dir)
            if any_rank(self.stop.requested) and (finished is None or not finished.final):
                raise Interrupted(f"stopped by {self.stop.signal_name} during {unit.name}")
            best_f1 = trainer.state.best_metric
            self._record_ending(trainer.state)

        if self.data.test:
            trainer.evaluate(subset(features, labels, self.data.test), metric_key_prefix="test")
        best = float(best_f1) if best_f1 is not None else 0.0
        path = unit.model_dir
        # Every rank holds the same weights: rank 0 alone writes them and the unit's result.
        if self.ranks.primary:
            path = _save_final_model(trainer.model, tokenizer, unit, label_names, multi_label)
            faults.reached("before_unit_result")
            write_unit_result(
                unit.checkpoint_dir,
                {
                    "unit": unit.name,
                    "model": unit.model.name,
                    "label": unit.label,
                    "best_f1": best,
                    "model_path": str(path),
                },
            )
            # The unit will never be resumed again: its checkpoints (optimizer states included,
            # several times the model's size) only cost disk now.
            for checkpoint in unit.checkpoint_dir.glob("checkpoint-*"):
                shutil.rmtree(checkpoint, ignore_errors=True)
            self.recorder.model_finished(unit.name, best, path)
        barrier()
        return UnitResult(unit.name, unit.model.name, unit.label, best, path)

    def _record_ending(self, state: Any) -> None:
        """Why the unit's training loop ended: every planned step, or early stopping."""
        if state.global_step >= state.max_steps or not self.config.early_stopping:
            self.recorder.training_stopped("finished", "finished")
            return
        patience = self.config.early_stopping_patience
        self.recorder.training_stopped(
            "early_stopping",
            f"early stopping: no better macro F1 for {patience} evaluation"
            + ("s" if patience != 1 else ""),
        )


def write_one_vs_all_map(base: Path, results: list[UnitResult]) -> None:
    """The label map of a distributed session's model directory: which folder holds which label."""
    mapping = {
        "strategy": "one-vs-all",
        "labels": {result.label: result.model_path.name for result in results if result.label},
    }
    base.mkdir(parents=True, exist_ok=True)
    (base / LABEL_MAP_FILE).write_text(
        json.dumps(mapping, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )

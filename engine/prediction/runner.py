"""Predicting a plan's file with the session's best model, chunk by chunk, resumably (torch).

The rows are cut into chunks of ``batch_size x CHUNK_BATCHES`` rows. Each chunk's probabilities
are saved in the job's folder (``chunks/000003.npy``, written to a temporary name, synced, then
renamed: a chunk file is whole or absent). A run started again with the same request finds the
chunks already saved, checks their shape and computes only the others; since a chunk is always
cut into the same batches, the probabilities, hence the output, are those of an uninterrupted
run. Once every chunk is there, the output is written (atomically), scored against the file's
labels when it has them, recorded in the session's metadata, and the chunks are removed.

A chunk's texts are tokenized in one call (truncated to the session's max length), then batched
by token length, each batch padded to its longest text and run under ``torch.inference_mode()``,
on the GPU when there is one: less padding and fewer tokenizer calls than a loop over batches,
which pays for the bookkeeping above (bench/bench_predict.py).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock, Timeout

from engine.analysis.columns import cell_text
from engine.errors import BadInputError
from engine.prediction.output import (
    Evaluation,
    evaluate,
    prediction_frame,
    prediction_record,
    write_output,
)
from engine.prediction.plan import PredictionPlan
from engine.prediction.status import (
    PROGRESS_INTERVAL_S,
    REQUEST_FILE,
    PredictionStatus,
    read_status,
    this_process,
    write_status,
)
from engine.schema import TrainingMetadata
from engine.store import SessionStore, atomic_write_json
from engine.training import faults

CHUNKS_DIR = "chunks"
#: The tokenizer's outputs a sequence classifier takes.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
LOCK_FILE = ".lock"

Progress = Callable[[PredictionStatus], None]


@dataclass(frozen=True)
class PredictionResult:
    """A finished prediction: what was written, how long it took, how it scored."""

    status: PredictionStatus
    chunks_computed: int
    """Chunks this run predicted (the others were found saved by an earlier run)."""
    duration_s: float
    """Seconds of every run of this prediction together."""
    evaluation: Evaluation | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.status.to_json(),
            "chunks_computed": self.chunks_computed,
            "duration_s": self.duration_s,
            "evaluation": self.evaluation.to_json() if self.evaluation else None,
        }


class LoadedModel:
    """The tokenizer and model(s) of a best model, ready to give probabilities."""

    def __init__(self, plan: PredictionPlan) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        folders = list(plan.model.one_vs_all) or [plan.model.path]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folders[0]), local_files_only=True)
        self.models = [
            AutoModelForSequenceClassification.from_pretrained(str(folder), local_files_only=True)
            .to(self.device)
            .eval()
            for folder in folders
        ]
        self.one_vs_all = bool(plan.model.one_vs_all)
        self.multi_label = plan.model.multi_label
        self.max_length = plan.max_length

    def batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """The texts' probabilities per label (float32), batch by batch: each batch's positions
        in ``texts`` and their probabilities, as the session's strategy reads them.

        The texts are tokenized in one call (truncated to the max length), then batched by
        token length, shortest first: each batch is padded to its longest text, so little
        padding is computed. The batches depend on ``texts`` alone: a resumed run cuts the same.
        """
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        keys = [key for key in MODEL_INPUTS if key in encoded]
        lengths = [len(ids) for ids in encoded["input_ids"]]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            batch = {key: self._padded(encoded[key], positions, key) for key in keys}
            yield positions, self._probabilities(batch)

    def _padded(self, sequences: list[list[int]], positions: list[int], key: str) -> torch.Tensor:
        """The sequences at ``positions`` padded to the longest, on the tokenizer's side."""
        width = max(len(sequences[position]) for position in positions)
        fill = (self.tokenizer.pad_token_id or 0) if key == "input_ids" else 0
        array = np.full((len(positions), width), fill, dtype=np.int64)
        left = self.tokenizer.padding_side == "left"
        for row, position in enumerate(positions):
            sequence = sequences[position]
            if left:
                array[row, width - len(sequence) :] = sequence
            else:
                array[row, : len(sequence)] = sequence
        return torch.from_numpy(array).to(self.device)

    def _probabilities(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        with torch.inference_mode():
            if self.one_vs_all:
                # Each label's binary model: the probability of its class 1 (the label).
                found = torch.stack(
                    [model(**batch).logits.float().softmax(-1)[:, 1] for model in self.models],
                    dim=1,
                )
            elif self.multi_label:
                found = self.models[0](**batch).logits.float().sigmoid()
            else:
                found = self.models[0](**batch).logits.float().softmax(-1)
        return np.asarray(found.cpu().numpy(), dtype=np.float32)


def _chunk_path(plan: PredictionPlan, index: int) -> Path:
    return plan.job_dir / CHUNKS_DIR / f"{index:06d}.npy"


def _chunk_rows(plan: PredictionPlan, index: int) -> range:
    start = index * plan.chunk_rows
    return range(start, min(start + plan.chunk_rows, plan.rows))


def _saved_chunk(plan: PredictionPlan, index: int) -> np.ndarray | None:
    """A chunk an earlier run saved, when it is whole and of this plan's shape."""
    path = _chunk_path(plan, index)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    expected = (len(_chunk_rows(plan, index)), len(plan.model.labels))
    if array.shape != expected or array.dtype != np.float32:
        return None
    return np.asarray(array)


def _save_chunk(path: Path, array: np.ndarray) -> None:
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _predict_chunk(
    plan: PredictionPlan,
    model: LoadedModel,
    texts: list[str | None],
    batch_done: Callable[[int], None],
) -> np.ndarray:
    """The chunk's probabilities; NaN rows for rows without text."""
    width = len(plan.model.labels)
    result = np.full((len(texts), width), np.nan, dtype=np.float32)
    present = [position for position, text in enumerate(texts) if text is not None]
    found = model.batches([texts[position] or "" for position in present], plan.batch_size)
    for positions, probabilities in found:
        rows = [present[position] for position in positions]
        result[rows] = probabilities
        batch_done(len(rows))
    # Rows without text take no batch, but they are done too.
    batch_done(len(texts) - len(present))
    return result


def _quiet_transformers() -> None:
    """No weight-loading progress bars or warnings among the command's own progress."""
    from huggingface_hub.utils.tqdm import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def run_prediction(
    plan: PredictionPlan, store: SessionStore, *, progress: Progress | None = None
) -> PredictionResult:
    """Predict ``plan``'s file, continuing from the chunks an earlier run saved.

    ``progress`` is called after each batch with where the run stands; the job's status file
    is kept up to date too (at most every PROGRESS_INTERVAL_S), for the app.

    Raises:
        BadInputError: the same prediction is running already (in another process).
        OperationError: the output cannot be written.
    """
    plan.job_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(plan.job_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise BadInputError(
            f"the prediction of {plan.file.name} into {plan.output.name} is already running;"
            " let it finish (the session's details follow it)"
        ) from None
    try:
        return _run_locked(plan, store, progress)
    finally:
        lock.release()


def _run_locked(
    plan: PredictionPlan, store: SessionStore, progress: Progress | None
) -> PredictionResult:
    atomic_write_json(plan.job_dir / REQUEST_FILE, plan.request.to_document())
    (plan.job_dir / CHUNKS_DIR).mkdir(exist_ok=True)
    earlier = read_status(plan.job_dir)
    # The time of the stopped runs this one continues counts in the prediction's duration.
    resumed = earlier is not None and earlier.state != "completed"
    elapsed_before = earlier.elapsed_s if earlier is not None and resumed else 0.0
    started = time.monotonic()
    pid, process_started_at = this_process()
    saved = {index: _saved_chunk(plan, index) for index in range(plan.chunks)}
    chunks: dict[int, np.ndarray] = {i: array for i, array in saved.items() if array is not None}
    reused = len(chunks)
    status = PredictionStatus(
        session_id=plan.session_id,
        file=str(plan.file),
        output=str(plan.output),
        state="running",
        rows_done=sum(len(_chunk_rows(plan, index)) for index in chunks),
        rows_total=plan.rows,
        chunks_done=reused,
        chunks_total=plan.chunks,
        chunks_reused=reused,
        pid=pid,
        process_started_at=process_started_at,
        elapsed_s=elapsed_before,
        job_dir=str(plan.job_dir),
    )
    write_status(plan.job_dir, status)
    if progress is not None:
        progress(status)
    rows_reused = status.rows_done
    written_at = time.monotonic()
    try:
        todo = [index for index in range(plan.chunks) if index not in chunks]
        if todo:
            _quiet_transformers()
            model = LoadedModel(plan)
            column = plan.table.frame[plan.text_column].tolist()
            computing_since = time.monotonic()

            def batch_done(rows: int) -> None:
                nonlocal status, written_at
                done = status.rows_done + rows
                now = time.monotonic()
                rate = (done - rows_reused) / max(now - computing_since, 1e-9)
                status = replace(
                    status,
                    rows_done=done,
                    rows_per_s=rate,
                    eta_s=(plan.rows - done) / rate if rate > 0 else None,
                    elapsed_s=elapsed_before + now - started,
                )
                if now - written_at >= PROGRESS_INTERVAL_S:
                    write_status(plan.job_dir, status)
                    written_at = now
                if progress is not None:
                    progress(status)

            for index in todo:
                rows = _chunk_rows(plan, index)
                texts = [cell_text(column[row]) for row in rows]
                chunks[index] = _predict_chunk(plan, model, texts, batch_done)
                _save_chunk(_chunk_path(plan, index), chunks[index])
                faults.reached("after_prediction_chunk")
                status = replace(status, chunks_done=status.chunks_done + 1)
        probabilities = np.concatenate([chunks[index] for index in range(plan.chunks)])
        write_output(prediction_frame(plan, probabilities), plan.output, plan.output_format)
        evaluation = evaluate(plan, probabilities)
        duration = elapsed_before + time.monotonic() - started
        record = prediction_record(plan, evaluation, duration)

        def add_record(metadata: TrainingMetadata) -> None:
            metadata.predictions = [*metadata.predictions, record]

        # A prediction is no training activity: the session keeps its place in the history.
        store.update(plan.session_path, add_record, keep_mtime=True)
    except BaseException as error:
        stopped = isinstance(error, KeyboardInterrupt)
        write_status(
            plan.job_dir,
            replace(
                status,
                state="interrupted" if stopped else "failed",
                elapsed_s=elapsed_before + time.monotonic() - started,
                message=(
                    "stopped; run the same prediction again to continue from its last chunk"
                    if stopped
                    else f"{type(error).__name__}: {error}"
                ),
            ),
        )
        raise
    status = replace(
        status,
        state="completed",
        eta_s=0.0,
        elapsed_s=duration,
        message=f"{plan.rows:,} rows predicted into {plan.output}",
    )
    write_status(plan.job_dir, status)
    shutil.rmtree(plan.job_dir / CHUNKS_DIR, ignore_errors=True)
    if progress is not None:
        progress(status)
    return PredictionResult(status, len(todo), duration, evaluation)

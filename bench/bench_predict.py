"""Prediction throughput of ``predict`` against a bare inference loop, and what a resume recomputes.

1. Throughput: ``Engine.predict`` (the path of ``llmtool-tui predict``: model loading, chunked
   prediction with its status file and chunk files, the output written atomically, the scores and
   the session's metadata entry) against a bare loop of the same model over the same texts, in
   this process, with the same batch size and torch threads: for each batch,
   ``tokenizer(batch, truncation, padding, return_tensors="pt")`` then ``model(**batch)`` under
   ``torch.inference_mode()`` and a softmax, the texts already in memory. Both run alternately,
   ``--repeat`` times each after a warm-up. Two medians of the ratios of rows/s of the runs
   made one after the other (predict / bare) are printed: whole (``Engine.predict``'s call
   against the bare script with its model loading) and loop only (predict's rate while
   predicting, as its progress bar shows it, against the bare loop without its loading).
   Target: both >= 0.95.
2. Resume: a prediction in small chunks is stopped in the middle (its progress callback raises
   KeyboardInterrupt, as Ctrl-C does) and started again with the same request; the chunks the
   second run computes are counted. Target: none of the finished chunks.

The model is the demo BERT (``--hidden``/``--layers`` make it larger), built offline, with a
classification head over the sample dataset's labels saved as a session's best model is (weights,
tokenizer, ``label_map.json``) in a completed session: throughput does not depend on what the
weights learned. The data is the bundled sample dataset (1,200 rows).

    .venv/bin/python bench/bench_predict.py [--repeat 5] [--batch-size 32] [--threads N]
        [--hidden 64] [--layers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.facade import Engine  # noqa: E402
from engine.prediction.status import PredictionStatus  # noqa: E402
from engine.schema import DatasetConfig, ModelConfig  # noqa: E402
from engine.sessions.creation import build_session_metadata, create_session  # noqa: E402
from engine.sessions.sample_data import LABEL_COLUMN, SAMPLE_PATH, TEXT_COLUMN  # noqa: E402
from engine.store import SessionStore  # noqa: E402
from engine.workspace import Workspace  # noqa: E402

MAX_LENGTH = 64


def completed_session(workspace: Workspace, hidden: int, layers: int) -> tuple[Path, Path]:
    """A completed session whose best model is the demo BERT with a head over the sample's
    labels; its metadata file and its model folder."""
    import dataclasses

    import pandas as pd
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from engine.training.demo_model import DemoModelSpec, build_demo_model, read_corpus

    labels = sorted(pd.read_csv(SAMPLE_PATH)[LABEL_COLUMN].unique())
    spec = dataclasses.replace(
        DemoModelSpec(), hidden_size=hidden, num_layers=layers, intermediate_size=hidden * 2
    )
    base = build_demo_model(workspace.root / "demo", read_corpus(SAMPLE_PATH, TEXT_COLUMN), spec)
    config = DatasetConfig(
        primary_file=str(SAMPLE_PATH),
        text_column=TEXT_COLUMN,
        label_column=LABEL_COLUMN,
        label_layout="single-column",
        labels=labels,
    )
    model_config = ModelConfig(selected_model=str(base), max_length=MAX_LENGTH)
    metadata = build_session_metadata({"dataset_config": config}, model_config)
    path = create_session(SessionStore(workspace), metadata)
    best = workspace.session_models_dir(metadata.session_id) / "demo"
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    model.save_pretrained(best)
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(best)
    label_map = {"labels": labels, "multi_label": False, "base_model": str(base)}
    (best / "label_map.json").write_text(json.dumps(label_map), encoding="utf-8")

    def complete(document: Any) -> None:
        document.execution_status.status = "completed"
        document.execution_status.best_model_path = str(best)

    SessionStore(workspace).update(path, complete)
    return path, best


def bare_loop(model_dir: Path, texts: list[str], batch_size: int) -> tuple[float, float]:
    """Rows per second of the bare script: with its model loading, and of its loop alone."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    found = []
    looping = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                truncation=True,
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            found.append(model(**batch).logits.softmax(-1))
    ended = time.perf_counter()
    assert sum(len(probabilities) for probabilities in found) == len(texts)
    return len(texts) / (ended - started), len(texts) / (ended - looping)


def predict_rate(
    engine: Engine, session: Path, output: Path, batch_size: int
) -> tuple[float, float]:
    """Rows per second of the whole ``Engine.predict`` call (model loading, output, scores and
    metadata included), and of its prediction loop alone (what its progress bar shows)."""
    plan = engine.plan_prediction(session, SAMPLE_PATH, output, batch_size=batch_size)
    started = time.perf_counter()
    result = engine.predict(plan)
    elapsed = time.perf_counter() - started
    assert result.chunks_computed == plan.chunks and result.status.rows_per_s is not None
    return plan.rows / elapsed, result.status.rows_per_s


def resume_counts(engine: Engine, session: Path, output: Path) -> dict[str, int]:
    """Stop a prediction in 5-row batches (320-row chunks) in its third chunk, run it again."""
    plan = engine.plan_prediction(session, SAMPLE_PATH, output, batch_size=5)

    def stop(status: PredictionStatus) -> None:
        if status.rows_done > 2 * plan.chunk_rows + 10:
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        engine.predict(plan, progress=stop)
    finished = len(list((plan.job_dir / "chunks").glob("*.npy")))
    again = engine.predict(engine.plan_prediction(session, SAMPLE_PATH, output, batch_size=5))
    return {
        "chunks": plan.chunks,
        "finished_before_the_stop": finished,
        "reused": again.status.chunks_reused,
        "computed_by_the_second_run": again.chunks_computed,
        "finished_chunks_recomputed": finished - again.status.chunks_reused,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64, help="demo model's hidden size")
    parser.add_argument("--layers", type=int, default=2, help="demo model's layers")
    parser.add_argument("--threads", type=int, help="torch threads of both (default: torch's)")
    args = parser.parse_args()

    import pandas as pd
    import torch
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as temp:
        workspace = Workspace(Path(temp))
        workspace.ensure()
        engine = Engine(workspace)
        session, model_dir = completed_session(workspace, args.hidden, args.layers)
        texts = pd.read_csv(SAMPLE_PATH)[TEXT_COLUMN].tolist()
        # Warm-up: the first run of each pays for lazy imports and first allocations.
        bare_loop(model_dir, texts, args.batch_size)
        predict_rate(engine, session, workspace.root / "warm.csv", args.batch_size)
        bare, ours = [], []
        for run in range(args.repeat):
            # Alternated, and in turn first: a change of the machine's load hits both alike.
            output = workspace.root / f"out-{run}.csv"
            if run % 2:
                ours.append(predict_rate(engine, session, output, args.batch_size))
                bare.append(bare_loop(model_dir, texts, args.batch_size))
            else:
                bare.append(bare_loop(model_dir, texts, args.batch_size))
                ours.append(predict_rate(engine, session, output, args.batch_size))
        resume = resume_counts(engine, session, workspace.root / "resumed.csv")

    def ratio(position: int) -> float:
        # The median of the ratios of runs made one after the other: the machine's load
        # drifts between pairs far more than within one.
        return statistics.median(
            mine[position] / theirs[position] for mine, theirs in zip(ours, bare, strict=True)
        )

    whole, loop = ratio(0), ratio(1)
    report = {
        "rows": len(texts),
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "model": f"demo BERT, hidden {args.hidden}, {args.layers} layers",
        "bare_rows_per_s_with_loading": [round(rate[0]) for rate in bare],
        "predict_rows_per_s_whole_call": [round(rate[0]) for rate in ours],
        "ratio_whole": round(whole, 3),
        "bare_rows_per_s_loop_only": [round(rate[1]) for rate in bare],
        "predict_rows_per_s_loop_only": [round(rate[1]) for rate in ours],
        "ratio_loop_only": round(loop, 3),
        "throughput_target_met": min(whole, loop) >= 0.95,
        "resume": resume,
        "resume_target_met": resume["finished_chunks_recomputed"] == 0
        and resume["computed_by_the_second_run"] == resume["chunks"] - resume["reused"],
    }
    print(json.dumps(report, indent=2))
    return 0 if report["throughput_target_met"] and report["resume_target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())

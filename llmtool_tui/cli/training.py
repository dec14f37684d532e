"""Headless ``train``, ``resume``, ``relaunch`` and ``demo-model`` commands.

Each starts the training worker (``engine.supervisor.launch_worker``). In the foreground the
command follows the worker's ``progress.jsonl`` with a progress bar (step, epoch, loss, F1, ETA)
and exits with the training's outcome: 0 completed, 1 failed, 2 bad input, 130 stopped by Ctrl-C
(which asks the worker to checkpoint and stop with SIGTERM). ``--detach`` leaves the worker
running in its own session, prints the session id and returns at once.

torch and transformers are only imported by ``demo-model`` (and by the worker process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, get_args

from engine.errors import BadInputError, OperationError
from engine.facade import Engine, PreparedRun
from engine.files import read_tail
from engine.schema import ModelConfig, PrecisionSetting
from engine.sessions.hyperparameters import new_session_defaults
from llmtool_tui.cli import engine_for
from llmtool_tui.cli.analyze import add_dataset_options, dataset_options
from llmtool_tui.cli.sessions import add_session_argument
from llmtool_tui.untrusted import json_text, literal, visible

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from engine.analysis import DatasetAnalysis
    from engine.progress import ProgressEvent
    from engine.supervisor import WorkerHandle

#: How much of the end of worker.out is searched for the worker's own last message.
WORKER_OUTPUT_TAIL_BYTES = 16 * 1024
#: Hyperparameter flags of ``train``: flag destination -> ModelConfig field.
HYPERPARAMETER_FLAGS = {
    "epochs": "epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "max_length": "max_length",
    "warmup_ratio": "warmup_ratio",
    "weight_decay": "weight_decay",
    "patience": "early_stopping_patience",
    "seed": "seed",
}
EXIT_INTERRUPTED = 130
#: Exit codes of the worker (engine.training.worker) -> of the command.
WORKER_EXIT_CODES = {0: 0, 1: 1, 2: 2, 3: EXIT_INTERRUPTED}


# -- parser ------------------------------------------------------------------------------------


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``train``, ``resume``, ``relaunch`` and ``demo-model``."""
    train = subparsers.add_parser(
        "train",
        parents=[common],
        help="analyse a dataset and train a classifier on it",
        description=(
            "Create a training session and run it. Modes: quick (one model, sensible defaults),"
            " benchmark (several models compared by macro F1), custom (your hyperparameters),"
            " distributed (one binary model per label). Exit 0 completed, 1 failed, 2 bad input."
        ),
    )
    train.add_argument(
        "dataset",
        metavar="DATASET",
        type=Path,
        nargs="?",
        help="CSV, TSV, JSON, JSONL, Excel or Parquet file (optional with --demo)",
    )
    add_dataset_options(train)
    train.add_argument(
        "--mode",
        choices=("quick", "benchmark", "custom", "distributed"),
        help="training mode (default: benchmark for several models, custom when"
        " hyperparameters are given, else quick)",
    )
    train.add_argument(
        "--model",
        metavar="M",
        nargs="+",
        action="extend",
        dest="models",
        help="model(s): hub id or local directory (several: benchmark)",
    )
    train.add_argument("--epochs", type=int, metavar="N")
    train.add_argument("--batch-size", type=int, metavar="N")
    train.add_argument("--learning-rate", type=float, metavar="F")
    train.add_argument("--max-length", type=int, metavar="N", help="tokens kept per text")
    train.add_argument("--warmup-ratio", type=float, metavar="F")
    train.add_argument("--weight-decay", type=float, metavar="F")
    train.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="evaluations without a better macro F1 before stopping early",
    )
    train.add_argument("--seed", type=int, metavar="N")
    train.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="training processes on this machine, one per GPU (above 1: torchrun and DDP;"
        " --batch-size is then per process)",
    )
    train.add_argument(
        "--precision",
        choices=get_args(PrecisionSetting),
        help="numeric precision (default auto: bf16 mixed precision on a GPU that supports it,"
        " else fp16 with loss scaling on a GPU, fp32 on CPU)",
    )
    train.add_argument(
        "--no-save",
        action="store_true",
        help="do not save the session in the history (it cannot be resumed)",
    )
    train.add_argument(
        "--demo",
        action="store_true",
        help="use the bundled sample dataset and, without --model, a demo model"
        " built in the workspace (no download needed)",
    )
    _add_run_flags(train)
    train.set_defaults(handler=run_train)

    resume = subparsers.add_parser(
        "resume",
        parents=[common],
        help="continue an unfinished session from its newest complete checkpoint",
    )
    add_session_argument(resume)
    resume.add_argument(
        "--force",
        action="store_true",
        help="resume even though the dataset, the thread count or the world size changed",
    )
    resume.add_argument(
        "--dataset",
        metavar="PATH",
        type=Path,
        help="the dataset's new place when it moved (checked to be the same file, then saved)",
    )
    _add_run_flags(resume)
    resume.set_defaults(handler=run_resume)

    relaunch = subparsers.add_parser(
        "relaunch",
        parents=[common],
        help="start a new session with a session's parameters, optionally edited",
    )
    add_session_argument(relaunch)
    relaunch.add_argument(
        "--dataset",
        metavar="PATH",
        type=Path,
        help="train on another dataset file (analysed again)",
    )
    relaunch.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="change a model_config setting, e.g. --set epochs=5 --set model=DIR (repeatable)",
    )
    _add_run_flags(relaunch)
    relaunch.set_defaults(handler=run_relaunch)

    demo = subparsers.add_parser(
        "demo-model",
        parents=[common],
        help="build a tiny BERT model with a tokenizer trained on a corpus (works offline)",
    )
    demo.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="directory to create")
    demo.add_argument(
        "--corpus",
        metavar="DATASET",
        type=Path,
        help="dataset whose texts train the tokenizer (default: the bundled sample)",
    )
    demo.add_argument(
        "--text-column",
        metavar="C",
        default="text",
        help="text column of the corpus (default: text)",
    )
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(handler=run_demo_model)


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detach",
        action="store_true",
        help="start the worker in the background, print the session id, return",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (no progress bar)"
    )


# -- commands ----------------------------------------------------------------------------------


def _engine(args: argparse.Namespace) -> Engine:
    """The engine of the command's workspace, whose log folders are created when missing."""
    engine = engine_for(args)
    try:
        engine.workspace.ensure()
    except FileNotFoundError as exc:
        raise BadInputError(str(exc)) from None
    return engine


def run_train(args: argparse.Namespace) -> int:
    """``train``: analyse, create the session, run the worker."""
    engine = _engine(args)
    dataset = args.dataset
    text_column, label_columns = args.text_column, args.label_columns
    if dataset is None:
        if not args.demo:
            raise BadInputError("give a DATASET file to train on, or --demo for the sample data")
        dataset, sample_text, sample_label = engine.sample_dataset()
        text_column, label_columns = text_column or sample_text, label_columns or [sample_label]
    if not dataset.is_file():
        raise BadInputError(f"dataset {dataset} does not exist; check the path")
    models = list(args.models or [])
    if args.demo and not models:
        announce = None if args.json else _say_building
        demo = engine.workspace_demo_model(dataset, text_column or "text", building=announce)
        models = [str(demo)]
    config = _model_config(args, models, demo_model=args.demo and not args.models)
    engine.check_hyperparameters(config)
    if models:
        # Before the analysis: an unavailable model must fail within seconds.
        engine.check_models(config.models())
    options = dataset_options(args) | {"text_column": text_column, "label_columns": label_columns}
    analysis = engine.analyze(dataset, model=models[0] if models else None, **options)
    if not config.models():
        # Only models available offline are recommended here: no availability check needed.
        config = _with_recommended_model(config, analysis)
    config.recommended_model = analysis.recommended_model
    if args.max_length is None:
        config.max_length = engine.suggested_max_length(analysis, config.models())
    prepared = engine.prepare_new_session(analysis, config, save=not args.no_save)
    _warn(prepared)
    if args.no_save and not args.json:
        print(
            visible(
                f"not saved in the history: session {prepared.session_id} cannot be resumed or"
                f" listed (its metadata is kept in {prepared.path})"
            )
        )
    return _launch(engine, prepared, args)


def _say_building(target: Path) -> None:
    print(visible(f"building the demo model in {target} ..."), flush=True)


def run_resume(args: argparse.Namespace) -> int:
    """``resume``: continue an unfinished session."""
    engine = _engine(args)
    prepared = engine.prepare_resume(
        engine.store.resolve(args.session), force=args.force, dataset=args.dataset
    )
    _warn(prepared, "warning (--force)")
    return _launch(engine, prepared, args)


def _warn(prepared: PreparedRun, prefix: str = "warning") -> None:
    for warning in prepared.warnings:
        print(f"{prefix}: {visible(warning)}", file=sys.stderr)


def run_relaunch(args: argparse.Namespace) -> int:
    """``relaunch``: a new session with the same (or edited) parameters."""
    engine = _engine(args)
    overrides: dict[str, str] = {}
    for item in args.overrides:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise BadInputError(f"--set {item!r}: write KEY=VALUE, e.g. --set epochs=5")
        overrides[key.strip()] = value
    prepared = engine.prepare_relaunch(
        engine.store.resolve(args.session), dataset=args.dataset, overrides=overrides
    )
    _warn(prepared)
    return _launch(engine, prepared, args)


def run_demo_model(args: argparse.Namespace) -> int:
    """``demo-model``: build a tiny model with a tokenizer trained on a corpus."""
    built = engine_for(args).build_demo_model(args.out_dir, args.corpus, args.text_column)
    if args.json:
        print(
            json_text(
                {
                    "model_dir": str(built.path.resolve()),
                    "corpus": str(built.corpus),
                    "texts": built.texts,
                },
                indent=None,
            )
        )
    else:
        print(
            visible(
                f"demo model built in {built.path} (tokenizer trained on {built.texts} texts of"
                f" {built.corpus.name}); train with --model {built.path}"
            )
        )
    return 0


# -- session preparation -------------------------------------------------------------------------


def _model_config(args: argparse.Namespace, names: list[str], *, demo_model: bool) -> ModelConfig:
    # Local directories are made absolute when the session is prepared (the worker's cwd is
    # the workspace).
    models = list(names)
    given = {
        field: getattr(args, flag)
        for flag, field in HYPERPARAMETER_FLAGS.items()
        if getattr(args, flag) is not None
    }
    mode = args.mode or ("benchmark" if len(models) > 1 else "custom" if given else "quick")
    values = new_session_defaults(demo_model=demo_model)
    values.update(given)
    if args.nproc_per_node is not None:
        if args.nproc_per_node < 1:
            raise BadInputError(
                f"--nproc-per-node {args.nproc_per_node}: give 1 or more processes (one per GPU)"
            )
        # How many processes run the training, not how it trains: the mode stays as chosen.
        values["nproc_per_node"] = args.nproc_per_node
    if args.precision is not None:
        # Like the processes, how fast it trains rather than what: the mode stays as chosen.
        values["precision"] = args.precision
    return ModelConfig(
        training_mode=mode,
        selected_model=models[0] if models else None,
        selected_models=models,
        **values,
    )


def _with_recommended_model(config: ModelConfig, analysis: DatasetAnalysis) -> ModelConfig:
    offline = [r.model.model_id for r in analysis.recommendations if r.offline]
    if not offline:
        names = ", ".join(r.model.model_id for r in analysis.recommendations[:3]) or "none"
        raise BadInputError(
            f"none of the recommended models ({names}) is available offline here; pass --model"
            " with a local model directory or a cached hub id, or use --demo"
        )
    return config.model_copy(update={"selected_model": offline[0], "selected_models": [offline[0]]})


# -- running the worker ----------------------------------------------------------------------------


def _launch(engine: Engine, prepared: PreparedRun, args: argparse.Namespace) -> int:
    session_id, path = prepared.session_id, prepared.path
    if args.detach:
        handle = engine.launch(prepared, detach=True)
        if args.json:
            print(
                json_text(
                    {
                        "session_id": session_id,
                        "metadata_path": str(path),
                        "pid": handle.pid,
                        "log_path": str(handle.log_path),
                    },
                    indent=None,
                )
            )
        else:
            print(
                visible(
                    f"{session_id} started in the background (pid {handle.pid});"
                    f" follow it with `llmtool-tui show {session_id}`, stop it with"
                    f" `llmtool-tui stop {session_id}`"
                )
            )
        return 0
    handle = engine.launch(prepared, detach=False)
    follower = Follower(
        handle,
        engine,
        session_id,
        show=not args.json,
        title=f"{session_id} ({prepared.metadata.training_model_config.training_mode})",
    )
    worker_code = follower.run()
    # A worker that died before it recorded ``running`` left its launch record: reading the
    # live status turns it into ``failed`` with the end of its output.
    engine.live_status(path, engine.store.load(path))
    return _report(engine, path, handle, worker_code, follower.interrupted_by_user, args.json)


def _report(
    engine: Engine,
    path: Path,
    handle: WorkerHandle,
    worker_code: int,
    by_user: bool,
    as_json: bool,
) -> int:
    final = engine.store.load(path)
    status = final.execution_status
    code = WORKER_EXIT_CODES.get(worker_code, 1)
    if code == 1 and status.status == "interrupted":
        # torchrun (several processes) exits 1 whatever its ranks' codes: the status tells.
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED and not by_user:
        code = 1
    summary = {
        "session_id": final.session_id,
        "status": status.status,
        "best_model": status.best_model,
        "best_f1": status.best_f1,
        "best_model_path": status.best_model_path,
        "models_trained": status.models_trained,
        "results_csv": final.output_paths.results_csv,
        "metadata_path": str(path),
        "worker_exit_code": worker_code,
        "error_message": status.error_message,
    }
    if as_json:
        print(json_text(summary))
    elif status.status == "completed":
        print(
            visible(
                f"{final.session_id} completed: best {status.best_model} with macro F1"
                f" {status.best_f1:.4f}; model in {status.best_model_path}"
            )
        )
    elif status.status == "interrupted":
        print(
            visible(
                f"{final.session_id} interrupted ({status.error_message});"
                f" continue with `llmtool-tui resume {final.session_id}`"
            )
        )
    elif worker_code == 2:
        raise BadInputError(_last_worker_line(handle) or "the worker refused the session")
    else:
        reason = status.error_message or _last_worker_line(handle)
        where = f" (traceback: {status.traceback_path})" if status.traceback_path else ""
        raise OperationError(f"{final.session_id} {status.status}: {reason}{where}")
    return code


def _last_worker_line(handle: WorkerHandle) -> str:
    """The worker's last own message (``worker: ...``) in the end of worker.out."""
    with contextlib.suppress(OSError):
        lines = read_tail(handle.log_path, WORKER_OUTPUT_TAIL_BYTES).decode("utf-8", "replace")
        for line in reversed(lines.splitlines()):
            if line.startswith("worker: "):
                return line.removeprefix("worker: ")
    return ""


class Follower:
    """Shows a foreground worker's progress and turns Ctrl-C into a graceful stop."""

    def __init__(
        self, handle: WorkerHandle, engine: Engine, session_id: str, *, show: bool, title: str
    ) -> None:
        self.handle = handle
        self.engine = engine
        self.session_id = session_id
        self.show = show
        self.title = title
        self.interrupted_by_user = False
        self._f1: dict[str, float] = {}

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted_by_user:
            # A second Ctrl-C: stop waiting; the worker still checkpoints on its own.
            raise KeyboardInterrupt
        self.interrupted_by_user = True
        with contextlib.suppress(ProcessLookupError):
            self.handle.process.send_signal(signal.SIGTERM)
        print(
            "\nstopping: the worker checkpoints and exits (Ctrl-C again to stop waiting)",
            file=sys.stderr,
            flush=True,
        )

    def run(self) -> int:
        """Follow until the worker exits; its exit code."""
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            return asyncio.run(self._follow())
        finally:
            signal.signal(signal.SIGINT, previous)

    async def _follow(self) -> int:
        waiter = asyncio.create_task(asyncio.to_thread(self.handle.wait))
        if not self.show:
            return await waiter
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        # markup=False: descriptions hold model names, which come from files.
        progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[details]}", markup=False),
            TimeRemainingColumn(),
            transient=False,
        )
        tasks: dict[str, TaskID] = {}
        with progress:
            progress.console.print(literal(f"training {self.title}"))
            events = self.engine.tail(self.session_id, from_start=False)
            # One pending read at a time, never cancelled while the worker runs: cancelling a
            # read would close the tailing generator and lose the last events.
            pending = asyncio.ensure_future(anext(events))
            try:
                while True:
                    await asyncio.wait({pending, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    if pending.done():
                        self._show(progress, tasks, pending.result())
                        pending = asyncio.ensure_future(anext(events))
                    elif waiter.done():
                        break
                # The worker has exited; its last events may still be on their way.
                while True:
                    done, _ = await asyncio.wait({pending}, timeout=0.5)
                    if not done:
                        break
                    self._show(progress, tasks, pending.result())
                    pending = asyncio.ensure_future(anext(events))
            finally:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
                await events.aclose()
        return waiter.result()

    def _show(self, progress: Progress, tasks: dict[str, TaskID], event: ProgressEvent) -> None:
        data = event.model_dump()
        kind = data["event"]
        model = visible(str(data.get("model") or ""))
        if kind == "model_started":
            tasks[model] = progress.add_task(
                f"{data['index']}/{data['total']} {model}", total=None, details=""
            )
        elif kind == "step":
            if model not in tasks:
                tasks[model] = progress.add_task(model, total=None, details="")
            f1 = self._f1.get(model)
            details = f"epoch {data['epoch']:.2f}  loss {data['loss']:.4f}" + (
                f"  F1 {f1:.3f}" if f1 is not None else ""
            )
            progress.update(
                tasks[model], completed=data["step"], total=data["max_steps"], details=details
            )
        elif kind == "evaluation" and data.get("macro_f1") is not None:
            self._f1[model] = data["macro_f1"]
            progress.console.print(
                literal(
                    f"  {model}: {data.get('split', 'validation')} macro F1"
                    f" {data['macro_f1']:.4f}, accuracy {data['accuracy']:.4f} at step"
                    f" {data['step']}"
                )
            )
        elif kind == "log" and data.get("level") == "warning":
            progress.console.print(literal(f"  warning: {data['message']}"))
        elif kind == "status" and data["status"] in ("failed", "interrupted", "completed"):
            progress.console.print(literal(f"  {data['status']}: {data.get('message') or ''}"))

"""Which checkpoints may be resumed from: complete ones only, proven by a marker written last.

Trainer writes ``checkpoint-N/`` file by file (weights, optimizer, scheduler, RNG states, trainer
state). A process killed half-way leaves a directory that Trainer's own ``get_last_checkpoint``
would pick and then crash on, so Trainer never chooses here: after a checkpoint is written, its
files are fsynced and ``llmtool_checkpoint.json`` is written atomically, listing every file with
its size. A checkpoint is complete when that marker is there, every listed file has its size, the
trainer state parses and the weights' safetensors header reads. Anything else is incomplete and is
moved out of the way before a resume.

Layout of a session's run directory::

    checkpoints/<unit>/checkpoint-N/     one training unit (a model, or a label in distributed mode)
    checkpoints/<unit>/unit_result.json  written when the unit finished and its model was saved

Importable without torch (the UI's resumability check uses it).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.files import fsync_path
from engine.store import atomic_write_json

MARKER_NAME = "llmtool_checkpoint.json"
UNIT_RESULT_NAME = "unit_result.json"
CHECKPOINTS_DIR_NAME = "checkpoints"
TRAINER_STATE_FILE = "trainer_state.json"
WEIGHT_FILE = "model.safetensors"
#: Files Trainer must have written for a resumable (not weights-only) checkpoint.
REQUIRED_FILES = (WEIGHT_FILE, TRAINER_STATE_FILE, "optimizer.pt", "scheduler.pt", "rng_state.pth")
_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class CheckpointInfo:
    """A complete checkpoint and what its marker says."""

    path: Path
    step: int
    final: bool
    """Training of the unit had ended when it was written (early stop or last step)."""
    torch_threads: int | None
    """CPU threads torch used for the training that wrote it."""
    marker: dict[str, Any]


def checkpoint_step(path: Path) -> int | None:
    """The step of a ``checkpoint-N`` directory name, else None."""
    match = _CHECKPOINT_DIR.match(path.name)
    return int(match.group(1)) if match else None


def write_marker(
    checkpoint: Path, *, step: int, final: bool, torch_threads: int | None, unit: str
) -> None:
    """Declare ``checkpoint`` complete: fsync its files, then write the marker atomically.

    Call only once Trainer has written everything (its ``on_save`` callback).
    """
    files: dict[str, int] = {}
    for entry in sorted(checkpoint.iterdir()):
        if entry.is_file() and entry.name != MARKER_NAME:
            fsync_path(entry)
            files[entry.name] = entry.stat().st_size
    missing = [name for name in REQUIRED_FILES if name not in files]
    if missing:
        raise RuntimeError(f"{checkpoint} lacks {', '.join(missing)} after saving")
    atomic_write_json(
        checkpoint / MARKER_NAME,
        {
            "unit": unit,
            "step": step,
            "final": final,
            "torch_threads": torch_threads,
            "files": files,
        },
    )


def _safetensors_header_reads(path: Path) -> bool:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            return len(list(handle.keys())) > 0
    except Exception:
        # Any failure to parse the header (truncated, corrupt, not safetensors) means the file
        # cannot be loaded, which is all this check must tell.
        return False


def validate_checkpoint(path: Path) -> CheckpointInfo | None:
    """The checkpoint's info when it is complete and loadable, else None."""
    step = checkpoint_step(path)
    marker_path = path / MARKER_NAME
    if step is None or not marker_path.is_file():
        return None
    try:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        files = marker["files"]
        for name, size in files.items():
            if (path / name).stat().st_size != size:
                return None
        json.loads((path / TRAINER_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not all(name in files for name in REQUIRED_FILES):
        return None
    if not _safetensors_header_reads(path / WEIGHT_FILE):
        return None
    threads = marker.get("torch_threads")
    return CheckpointInfo(
        path=path,
        step=step,
        final=bool(marker.get("final")),
        torch_threads=threads if isinstance(threads, int) else None,
        marker=marker,
    )


def checkpoint_dirs(unit_dir: Path) -> list[Path]:
    """Every ``checkpoint-N`` directory of a unit, oldest step first."""
    if not unit_dir.is_dir():
        return []
    found = [p for p in unit_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def newest_complete(unit_dir: Path) -> CheckpointInfo | None:
    """The newest complete checkpoint of a unit, or None."""
    for path in reversed(checkpoint_dirs(unit_dir)):
        info = validate_checkpoint(path)
        if info is not None:
            return info
    return None


def discard_all_incomplete(run_dir: Path) -> list[Path]:
    """discard_incomplete on every unit of a run (after a failure, to free their space)."""
    root = run_dir / CHECKPOINTS_DIR_NAME
    if not root.is_dir():
        return []
    removed = discard_incomplete(root)
    units = (p for p in root.iterdir() if p.is_dir() and checkpoint_step(p) is None)
    for unit_dir in sorted(units):
        removed.extend(discard_incomplete(unit_dir))
    return removed


def discard_incomplete(unit_dir: Path) -> list[Path]:
    """Delete the unit's checkpoints that are not complete; return what was deleted.

    Run before Trainer resumes, so that a partial directory can never be chosen or mistaken for
    the best checkpoint.
    """
    removed = []
    for path in checkpoint_dirs(unit_dir):
        if validate_checkpoint(path) is None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def prune(unit_dir: Path, keep: set[Path]) -> None:
    """Delete complete checkpoints of a unit except the newest one and those in ``keep``.

    Done here rather than with Trainer's ``save_total_limit``: Trainer rotates before the marker
    of the new checkpoint exists, so a crash in between would leave no complete checkpoint.
    """
    complete = [p for p in checkpoint_dirs(unit_dir) if (p / MARKER_NAME).is_file()]
    kept = {p.resolve() for p in keep}
    for path in complete[:-1]:
        if path.resolve() not in kept:
            shutil.rmtree(path, ignore_errors=True)


def read_unit_result(unit_dir: Path) -> dict[str, Any] | None:
    """The result a finished unit recorded, or None when it has not finished."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((unit_dir / UNIT_RESULT_NAME).read_text(encoding="utf-8"))
        if isinstance(data, dict) and Path(str(data.get("model_path", ""))).is_dir():
            return data
    return None


def write_unit_result(unit_dir: Path, result: dict[str, Any]) -> None:
    """Record a finished unit (atomically): a resume skips it from then on."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(unit_dir / UNIT_RESULT_NAME, result)

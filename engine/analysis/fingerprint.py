"""The dataset file's identity (sha256, size, rows), compared on resume and relaunch."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.analysis.dataset_file import open_dataset
from engine.errors import BadInputError
from engine.schema import Fingerprint

CHUNK_BYTES = 1024 * 1024


def fingerprint_file(path: Path, rows: int | None = None) -> Fingerprint:
    """sha256 and byte size of the file, with the row count the analysis read from it.

    Raises:
        BadInputError: the file does not exist, is not a regular file (a FIFO or a device would
            block or never end), or cannot be read.
    """
    digest = hashlib.sha256()
    size = 0
    with open_dataset(Path(path)) as handle:
        try:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        except OSError as exc:
            raise BadInputError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    return Fingerprint(sha256=digest.hexdigest(), size_bytes=size, rows=rows)


def fingerprint_changes(recorded: Fingerprint, current: Fingerprint) -> list[str]:
    """What differs between a recorded fingerprint and the file now (empty when unchanged)."""
    changes = []
    if recorded.size_bytes != current.size_bytes:
        changes.append(f"size {recorded.size_bytes} -> {current.size_bytes} bytes")
    if recorded.sha256 != current.sha256:
        changes.append("content (sha256) differs")
    if recorded.rows is not None and current.rows is not None and recorded.rows != current.rows:
        changes.append(f"rows {recorded.rows} -> {current.rows}")
    return changes

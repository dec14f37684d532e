"""Opening the user's dataset file: a regular file, or a one-line error that says what it is.

A dataset path comes from the command line, the wizard, a template or a session file written on
another machine. It may name a FIFO (``data.csv`` made with ``mkfifo``: a plain ``open`` blocks
until a writer appears), a device (``/dev/zero`` reads forever), a socket, a directory, a broken
link, or hold a NUL character or an unknown ``~user``. Every reader of a dataset opens it here.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from engine.errors import BadInputError
from engine.files import UnsafeFileError, open_regular, why_unreadable

#: What the user should do, by what was found instead of a data file.
_FIX_DIRECTORY = "give the path of a data file in it"
_FIX_NOT_REGULAR = (
    "give the path of a regular data file (CSV, TSV, JSON, JSONL, Excel .xlsx or Parquet)"
)
_FIX_LINK = "fix the link, or give the path of the file itself"
_FIX_PERMISSION = "check the file's permissions"
_FIX_PATH = "check the path"


def open_dataset(path: Path) -> BinaryIO:
    """Open a dataset file for binary reading; a link to a regular file is followed.

    Returns:
        The open file, positioned at its start.

    Raises:
        BadInputError: the path is missing, a broken link, a directory, a FIFO, a socket, a
            device, unreadable, or has a NUL character in it; the message names which.
    """
    try:
        return open_regular(path)
    except OSError as exc:
        raise BadInputError(dataset_problem(path, exc)) from None


def dataset_problem(path: Path, exc: OSError) -> str:
    """The one-line error for a dataset that could not be opened (``dataset X is ...; fix``)."""
    reason = why_unreadable(path, exc)
    if reason.startswith("is a directory"):
        fix = _FIX_DIRECTORY
    elif isinstance(exc, UnsafeFileError) and reason.endswith("not a regular file"):
        fix = _FIX_NOT_REGULAR
    elif reason.startswith("is a broken symbolic link") or "loops back" in reason:
        fix = _FIX_LINK
    elif isinstance(exc, PermissionError):
        fix = _FIX_PERMISSION
    else:
        fix = _FIX_PATH
    return f"dataset {path} {reason}; {fix}"


__all__ = ["dataset_problem", "open_dataset"]

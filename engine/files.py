"""Opening files that anyone may have put in a workspace: regular files only, never blocking.

Every file under ``logs/``, every dataset and every template is untrusted. A FIFO named
``*.json`` blocks a plain ``open()`` until a writer appears, which may be never; a character
device (``/dev/zero``, a terminal) yields endless or interactive bytes; a symbolic link in a run
folder may point anywhere, and writing through it would write outside the workspace. The
standard library offers no "open this only if it is a regular file" call, so this module is that
call: it checks the kind of file before opening, opens with ``O_NONBLOCK`` (so that a FIFO swapped
in between cannot block), checks again with ``fstat`` on what was opened, and only then reads.

Files this tool creates itself in a run folder (``progress.jsonl``, ``train.log``, ``worker.out``)
are never followed through a symbolic link (``follow_symlinks=False``); a session file or a
dataset may be a link to a regular file, as users link their data.

Errors are ``UnsafeFileError``, an ``OSError`` whose message names the problem, so existing
``except OSError`` handling covers them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


class UnsafeFileError(OSError):
    """A path that is not a regular file this process may read, or is too large to read whole.

    ``str()`` and ``strerror`` are the reason alone (``is a named pipe (FIFO), not a regular
    file``), without the ``[Errno N]`` prefix of other OSErrors.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)

    def __str__(self) -> str:
        return self.strerror or "not a regular file"


def kind_of(mode: int) -> str:
    """``a named pipe (FIFO)``, ``a directory``, ...: what a non-regular file is, for a message."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _refuse_kind(mode: int) -> None:
    if not stat.S_ISREG(mode):
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        raise UnsafeFileError(code, f"is {kind_of(mode)}, not a regular file")


def _os_path(path: Path | str) -> str:
    text = os.fspath(path)
    if "\0" in text:
        # os.open raises ValueError for it, which callers catching OSError would let through.
        raise UnsafeFileError(errno.EINVAL, "has a NUL character in its name")
    return text


def _open_checked(name: str, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that never blocks and returns a descriptor of a regular file only.

    ``O_NONBLOCK`` keeps a FIFO swapped in at the last moment from blocking the open; the kind of
    what was opened is checked with ``fstat`` (the path may have changed since any earlier
    check), and the descriptor is made blocking again for ordinary reads and writes.
    """
    fd, _ = _open_nonblocking(name, flags, mode)
    try:
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_nonblocking(name: str, flags: int, mode: int = 0o666) -> tuple[int, os.stat_result]:
    """``_open_checked`` without making the descriptor blocking, with its ``fstat``.

    ``O_NONBLOCK`` changes nothing to the reads of a regular file: ``read_regular`` keeps it and
    saves two system calls per file (a listing of 10,000 files reads each).
    """
    try:
        fd = os.open(name, flags | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP and flags & os.O_NOFOLLOW:
            raise UnsafeFileError(errno.ELOOP, "is a symbolic link, not a regular file") from None
        if exc.errno == errno.ENXIO:
            # O_WRONLY or O_RDWR on a FIFO without a reader.
            raise UnsafeFileError(
                errno.ENXIO, f"is {kind_of(stat.S_IFIFO)}, not a regular file"
            ) from None
        raise
    try:
        st = os.fstat(fd)
        _refuse_kind(st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def regular_opener(*, follow_symlinks: bool = True) -> Callable[[str, int], int]:
    """An ``opener`` for ``open()`` (and ``aiofiles.open``) that opens regular files only.

    Args:
        follow_symlinks: with False, a symbolic link is refused (``O_NOFOLLOW``) instead of
            being followed to its target.

    The returned opener raises FileNotFoundError when nothing is there (or a dangling link),
    UnsafeFileError for a FIFO, socket, device, directory (or a link when not followed), and
    OSError for any other failure to open. It never blocks.
    """

    def opener(name: str, flags: int) -> int:
        name = _checked_name(name, follow_symlinks=follow_symlinks)
        return _open_checked(name, flags if follow_symlinks else flags | os.O_NOFOLLOW)

    return opener


def _checked_name(path: Path | str, *, follow_symlinks: bool) -> str:
    """``path`` as a string, once what it names was found to be a regular file.

    Checked before opening: opening some devices has side effects (a tape rewinds, a terminal
    becomes the controlling one), and a FIFO must not even be opened.
    """
    name = _os_path(path)
    _refuse_kind(os.stat(name).st_mode if follow_symlinks else os.lstat(name).st_mode)
    return name


def open_regular(path: Path | str, *, follow_symlinks: bool = True) -> BinaryIO:
    """Open a regular file for binary reading; refuse anything else without blocking.

    Raises:
        FileNotFoundError, UnsafeFileError, OSError: as the openers of ``regular_opener``.
    """
    return open(_os_path(path), "rb", opener=regular_opener(follow_symlinks=follow_symlinks))


def read_regular(path: Path | str, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes.

    Plain descriptor calls, no buffered file object: listing 10,000 session files reads each.

    Raises:
        FileNotFoundError, UnsafeFileError, OSError: as ``open_regular``; UnsafeFileError
            (``EFBIG``) when the file holds more than ``limit`` bytes, which are not read.
    """
    name = _checked_name(path, follow_symlinks=follow_symlinks)
    fd, st = _open_nonblocking(name, os.O_RDONLY | (0 if follow_symlinks else os.O_NOFOLLOW))
    try:
        size = st.st_size
        if size > limit:
            raise UnsafeFileError(errno.EFBIG, f"is too large ({size:,} bytes; limit {limit:,})")
        # One byte more than allowed is asked for: a file that grew since the fstat is refused.
        # A first read shorter than asked that holds the whole size is the end of the file.
        chunks = []
        wanted = limit + 1
        while wanted > 0 and (chunk := os.read(fd, asked := min(wanted, max(size + 1, 4096)))):
            chunks.append(chunk)
            wanted -= len(chunk)
            if len(chunk) < asked and len(chunks) == 1 and len(chunk) >= size:
                break
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if len(data) > limit:
        raise UnsafeFileError(errno.EFBIG, f"is too large (over {limit:,} bytes)")
    return data


def read_tail(path: Path | str, size: int, *, follow_symlinks: bool = False) -> bytes:
    """The last ``size`` bytes of a regular file (all of it when smaller).

    Raises:
        FileNotFoundError, UnsafeFileError, OSError: as ``open_regular``.
    """
    with open_regular(path, follow_symlinks=follow_symlinks) as handle:
        end = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, end - size))
        return handle.read(size)


def open_append(path: Path | str, mode: int = 0o644) -> int:
    """A descriptor appending to a regular file (readable too), created when missing.

    Never opened through a symbolic link.

    A link or FIFO planted in a run folder under the name of a file this tool writes would
    otherwise make it write outside the workspace, or block.

    Raises:
        UnsafeFileError: the path is a link, a FIFO or anything but a regular file.
        OSError: any other failure to open.
    """
    return _open_checked(_os_path(path), os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, mode)


#: Suffix of the hidden temporary files of atomic writes (``.<name>.<random>.tmp``): listing and
#: watching ignore hidden names, cleanup removes old ones that a killed writer left.
TEMP_SUFFIX = ".tmp"


def _temp_path_for(path: Path) -> Path:
    # os.urandom is what secrets.token_hex draws from; importing secrets (hashlib, random)
    # cost the app's start 8 ms.
    return path.with_name(f".{path.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}")


def fsync_path(path: Path) -> None:
    """Flush a file's content, or a directory's new names and renames, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(path: Path, payload: bytes) -> Path:
    """``payload`` in a new hidden file beside ``path``, flushed and fsynced; its path."""
    # O_EXCL: a link planted under the temporary name is never written through.
    temp = _temp_path_for(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return temp


def atomic_write_bytes(path: Path, payload: bytes, *, mtime_ns: int | None = None) -> None:
    """Replace ``path`` with ``payload`` atomically and durably (a link there is replaced).

    With ``mtime_ns`` the new file has that modification time from the moment it appears: it
    is set on the temporary file, before the rename, so no reader ever sees another one.
    """
    temp = write_temp(path, payload)
    try:
        if mtime_ns is not None:
            os.utime(temp, ns=(time.time_ns(), mtime_ns))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_path(path.parent)


def expand_user(text: str) -> Path:
    """``Path(text).expanduser()``, or the path as written when ``~user`` names no user here.

    A collaborator's file may record ``~alice/data.csv``; expanding it must not raise
    (``RuntimeError`` from pathlib) for a user this machine does not know.
    """
    try:
        return Path(text).expanduser()
    except (RuntimeError, KeyError):
        return Path(text)


def why_unreadable(path: Path | str, exc: OSError) -> str:
    """Why ``open_regular`` failed on ``path``, worded to follow the path in a message.

    ``does not exist``, ``is a broken symbolic link (to x.csv)``, ``is a named pipe (FIFO), not
    a regular file``, ``cannot be read: permission denied``: the caller writes ``dataset
    {path} {reason}; {what to do}``.
    """
    if isinstance(exc, UnsafeFileError):
        return str(exc)
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return _why_missing(os.fspath(path))
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that loops back on itself"
    if exc.errno == errno.ENAMETOOLONG:
        return "is a name too long for this system"
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied"
    return f"cannot be read: {exc.strerror or exc}"


def _why_missing(text: str) -> str:
    try:
        if stat.S_ISLNK(os.lstat(text).st_mode):
            return f"is a broken symbolic link (to {os.readlink(text)}, which does not exist)"
    except (OSError, ValueError):
        pass
    user = text[1:].split("/", 1)[0] if text.startswith("~") else ""
    if user and expand_user(text) == Path(text):
        # expand_user left ``~user`` as written: no such user here (a collaborator's path).
        return f"does not exist (there is no user {user!r} on this machine)"
    return "does not exist"


def bounded_lines(handle: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    """The lines of a binary file, each at most ``max_bytes``; longer ones are skipped.

    Iterating a file object reads a whole line into memory, however long: a file without a
    newline would be read whole.
    """
    while line := handle.readline(max_bytes + 1):
        if len(line) <= max_bytes:
            yield line
            continue
        # Discard the rest of the over-long line, a bounded piece at a time.
        while line and not line.endswith(b"\n"):
            line = handle.readline(max_bytes + 1)

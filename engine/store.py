"""The session store: atomic, locked reads and writes of the metadata files of a workspace.

Guarantees:

* A write goes to a hidden temporary file in the same directory (``.<name>.<random>.tmp``, which
  listing and watching ignore), is flushed and fsynced, then ``os.replace``-d over the target and
  the directory is fsynced. A process killed at any instant leaves the old or the new document.
* Read-modify-write updates hold a per-file lock (``filelock``, under ``logs/.locks/``) so two
  writers (the worker updating its status, the UI saving a note) never lose each other's change.
* Listing parses only the files it returns, newest first by modification time, and reports a file
  that cannot be read or validated with a precise reason instead of raising.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.files import (
    UnsafeFileError,
    atomic_write_bytes,
    expand_user,
    fsync_path,
    read_regular,
    write_temp,
)
from engine.row_index import load_index, save_index
from engine.rows import (
    UTF8_BOM,
    SessionRow,
    StatKey,
    row_from_document,
    row_from_metadata,
    unreadable_row,
)
from engine.workspace import Workspace

if TYPE_CHECKING:
    from filelock import FileLock
    from pydantic import ValidationError

    from engine.schema import TrainingMetadata

DEFAULT_LIMIT = 20
#: Larger metadata files are refused unread: a real one is 5-10 KB, and an untrusted multi-GB
#: file must not exhaust the memory of whoever lists the history.
MAX_METADATA_BYTES = 10 * 1024 * 1024
LOCK_TIMEOUT_S = 30.0
FILE_PREFIX = "training_metadata_"


class StoreError(Exception):
    """A store operation failed (lock timeout, unknown session, write error)."""


class MetadataError(StoreError):
    """A metadata file cannot be read or validated; ``reason`` says precisely why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


class SessionNotFoundError(StoreError):
    """No session matches a reference (id, file name, path or history index)."""


def is_session_candidate(name: str) -> bool:
    """Whether a file name in the sessions directory is listed: any visible ``*.json``.

    Hidden names are excluded, which covers the store's own temporary files.
    """
    return name.endswith(".json") and not name.startswith(".")


def may_mention(path: Path, *words: str) -> bool:
    """Whether the file's text may hold one of the JSON strings ``words``, from its bytes alone.

    A UTF-8 JSON document spells a string either as its characters between quotes or with a
    backslash escape, so this is True when the quoted characters are there or when any
    backslash is; False for a file that cannot be read (or is not a regular file). Reading bytes
    costs a fraction of validating the document: finding the few running sessions among 10,000
    files takes a read of each, not 10,000 validations.
    """
    try:
        raw = read_regular(path, MAX_METADATA_BYTES)
    except OSError:
        return False
    return b"\\" in raw or any(
        json.dumps(word, ensure_ascii=False).encode() in raw for word in words
    )


def _json_payload(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def atomic_write_json(path: Path, document: dict[str, Any], *, mtime_ns: int | None = None) -> None:
    """Replace ``path`` with ``document`` atomically and durably (with ``mtime_ns`` as its
    modification time, when given)."""
    atomic_write_bytes(path, _json_payload(document), mtime_ns=mtime_ns)


def atomic_create_json(path: Path, document: dict[str, Any]) -> bool:
    """Create ``path`` with ``document`` atomically, never overwriting: False when it exists."""
    temp = write_temp(path, _json_payload(document))
    try:
        # link() fails when the target exists: an atomic "create if absent" of a complete file.
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    fsync_path(path.parent)
    return True


def _format_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(document)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"invalid field {location}: {first['msg']}{more}"


#: jiter's (pydantic's JSON parser) wording of a syntax error, turned into ours.
_JSON_ERROR = re.compile(r"Invalid JSON: (?P<what>.*) at line (?P<line>\d+) column (?P<column>\d+)")


def _json_error(raw: bytes, message: str) -> str:
    """The reason for a document pydantic's JSON parser refused, as precise as it can be."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    found = _JSON_ERROR.match(message)
    if found is None:
        return f"invalid JSON: {message.removeprefix('Invalid JSON: ')}"
    if found["what"] == "recursion limit exceeded":
        return "JSON nested too deeply"
    return f"invalid JSON at line {found['line']} column {found['column']}: {found['what']}"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def parse_metadata_bytes(path: Path, raw: bytes) -> TrainingMetadata:
    """Parse and validate a metadata document. Raises MetadataError with a precise reason.

    pydantic parses the bytes itself (its Rust JSON parser, about as fast as ``json.loads``
    alone), and refuses what a file must not hold: invalid UTF-8, lone surrogates, integers
    beyond 64 bits of precision, nesting deeper than 200 levels, NaN or infinities in a known
    field. A NaN in a collaborator's own key is written back as ``null``; a duplicate key keeps
    its last value, as JavaScript and jq read it. Nothing else escapes: whatever goes wrong with
    one untrusted file makes it unreadable, with its reason, and never stops a listing.
    """
    # pydantic is imported by the first validation, not with this module: the app paints its
    # first screen before any file is read (about 0.2 s sooner; see tests/test_architecture.py).
    from pydantic import ValidationError

    from engine.schema import TrainingMetadata

    if not raw.strip():
        raise MetadataError(path, "empty file")
    try:
        return TrainingMetadata.model_validate_json(raw.removeprefix(UTF8_BOM))
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise MetadataError(path, _json_error(raw, first["msg"])) from None
        if first["type"] == "model_type" and not first["loc"]:
            found = type(first["input"]).__name__
            raise MetadataError(path, f"expected a JSON object, found {found}") from None
        raise MetadataError(path, _format_validation_error(exc)) from None
    except Exception as exc:
        # The boundary of one untrusted file: a validator failing in an unforeseen way (an
        # overflow converting a date, memory) is this file's problem, reported with its type.
        raise MetadataError(
            path, f"cannot be validated: {type(exc).__name__}: {_one_line(str(exc))}"
        ) from None


def row_from_bytes(
    path: Path, stat: StatKey, raw: bytes, *, validate: bool, keep_metadata: bool = False
) -> SessionRow:
    """The row of a session file's bytes; with ``validate``, the whole document is checked.

    Never raises: a file that cannot be parsed or validated is an unreadable row with the
    reason (see parse_metadata_bytes). Without ``validate`` nothing imports pydantic, and the
    reason of a file that is no JSON object is the json module's. With ``keep_metadata`` a
    validated row carries its document; without, the document is dropped once checked (a
    listing of 10,000 files would otherwise keep millions of objects alive).
    """
    if validate:
        try:
            metadata = parse_metadata_bytes(path, raw)
        except MetadataError as error:
            return unreadable_row(path, stat, error.reason)
        return row_from_metadata(path, stat, metadata, keep_metadata=keep_metadata)
    try:
        document = json.loads(raw.removeprefix(UTF8_BOM))
    except json.JSONDecodeError as error:
        reason = f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        reason = f"invalid JSON: {type(error).__name__}"
    else:
        if isinstance(document, dict):
            return row_from_document(path, stat, document)
        reason = f"expected a JSON object, found {type(document).__name__}"
    return unreadable_row(path, stat, reason, validated=False)


def _read_failure(path: Path, error: OSError) -> str:
    """Why a session file could not be read, for its unreadable row."""
    if isinstance(error, FileNotFoundError):
        return "dangling symbolic link" if os.path.islink(path) else "file not found"
    if isinstance(error, UnsafeFileError):
        return str(error)
    return f"cannot read: {error.strerror or error}"


def read_metadata(path: Path) -> TrainingMetadata:
    """Read and validate one metadata file. Raises MetadataError (never OSError).

    Only a regular file (or a link to one) is read, never more than MAX_METADATA_BYTES of it: a
    FIFO, a device or a socket named ``*.json`` is refused without blocking.
    """
    try:
        raw = read_regular(path, MAX_METADATA_BYTES)
    except OSError as error:
        raise MetadataError(path, _read_failure(path, error)) from None
    return parse_metadata_bytes(path, raw)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        pass
    # A dangling link or an entry that cannot be stat'ed is still a session file, reported with
    # read_metadata's reason; only a path that is gone returns None.
    try:
        return os.lstat(path)
    except OSError:
        return None


def _key(st: os.stat_result) -> StatKey:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def read_row(
    path: Path, key: StatKey, *, validate: bool, keep_metadata: bool = False
) -> SessionRow:
    """The row of one session file (see row_from_bytes); never raises."""
    try:
        raw = read_regular(path, MAX_METADATA_BYTES)
    except OSError as error:
        return unreadable_row(path, key, _read_failure(path, error))
    return row_from_bytes(path, key, raw, validate=validate, keep_metadata=keep_metadata)


def _serves(cached: SessionRow, key: StatKey, *, validate: bool, metadata: bool) -> bool:
    """Whether ``cached`` is the row asked for: its file unchanged, validated if asked, with its
    document if asked (a row of the persisted index has none)."""
    return (
        cached.stat == key
        and (cached.validated or not validate)
        and not (metadata and cached.readable and cached.metadata is None)
    )


#: Past this many files to validate (a first full listing), a store allowed more than one
#: process shares them out: below it, starting a process costs more than it saves.
PARALLEL_MIN_FILES = 2_000
#: The fields of a row sent back by a reading process, in SessionRow's order: all but the path
#: (sent as text) and the validated document (dropped anyway by a plain listing).
_SENT_FIELDS = tuple(item.name for item in fields(SessionRow))[1:-1]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: ``taskset``, a cgroup's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _sent_rows(share: list[tuple[str, StatKey]]) -> list[tuple[Any, ...]]:
    """In a reading process: the validated rows of ``share`` as plain values (sending rows
    with their Path objects took twice as long to receive)."""
    gc.disable()  # as collector_paused does in the parent: the rows live until sent
    sent = []
    for path, key in share:
        row = read_row(Path(path), key, validate=True)
        sent.append(tuple([getattr(row, name) for name in _SENT_FIELDS]))
    return sent


def read_rows_in_processes(
    paths: list[str], keys: dict[str, StatKey], processes: int
) -> list[SessionRow]:
    """The validated rows of ``paths``, read by ``processes`` processes (this one included).

    Validation is CPU-bound Python (pydantic), so threads would not help: forked processes each
    validate a share, and this one validates its own meanwhile. The fork happens only from a
    process with no other thread (a fork copies the locks other threads hold); otherwise, or if
    a process cannot be started or dies, the files are read here.
    """
    items = [(path, keys[path]) for path in paths]
    size = -(-len(items) // processes)
    shares = [items[start : start + size] for start in range(0, len(items), size)]
    if len(shares) < 2 or threading.active_count() > 1 or sys.platform != "linux":
        return [read_row(Path(path), key, validate=True) for path, key in items]
    # Imported here: only the first listing of a large workspace by a command needs them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # The first validation builds pydantic's validators (tens of ms): once, before the fork.
    rows = [read_row(Path(path), key, validate=True) for path, key in shares[0][:1]]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(len(shares) - 1, mp_context=context) as pool:
            sent = [pool.submit(_sent_rows, share) for share in shares[1:]]
            rows += [read_row(Path(path), key, validate=True) for path, key in shares[0][1:]]
            for share, future in zip(shares[1:], sent, strict=True):
                values = future.result()
                received = zip(share, values, strict=True)
                rows += [SessionRow(Path(path), *row) for (path, _), row in received]
    except (BrokenProcessPool, OSError):
        # A process could not start, or died (out of memory): what is missing is read here.
        done = {row.path for row in rows}
        rows += [
            read_row(Path(path), key, validate=True)
            for path, key in items
            if Path(path) not in done
        ]
    return rows


class SessionCache:
    """Session rows by path, made again only when the file's stat values change.

    Methods block (stat, read, parse): call them from a thread, not the event loop. They may be
    called from several threads; two lookups of the same changed file may both parse it.
    """

    def __init__(self) -> None:
        self._rows: dict[str, SessionRow] = {}
        """By path as text (``SessionRow.key``): a listing looks up 10,000 paths of a scan,
        which are text, and making a Path of each cost more than the lookups."""
        self.parses = 0
        """Files parsed so far (what the cache saves is visible in tests and benchmarks)."""

    def __contains__(self, path: object) -> bool:
        return str(path) in self._rows

    def get(
        self,
        path: Path,
        *,
        validate: bool = True,
        metadata: bool = False,
        key: StatKey | None = None,
    ) -> SessionRow | None:
        """The row of the file as it is now, made only if it changed since the last call.

        Args:
            path: the session file.
            validate: check the whole document (pydantic); without, a row that was never
                validated is made from the parsed JSON alone (see engine.rows).
            metadata: the row must carry its validated document (a row of the persisted
                index does not: the file is then read).
            key: the file's stat values when the caller has just taken them (a scan).

        Returns:
            None when the file does not exist (and forgets it).
        """
        if key is None:
            st = _stat(path)
            if st is None:
                self._rows.pop(str(path), None)
                return None
            key = _key(st)
        cached = self._rows.get(str(path))
        if cached is not None and _serves(cached, key, validate=validate, metadata=metadata):
            return cached
        return self._read(path, key, validate=validate, metadata=metadata)

    def _read(self, path: Path, key: StatKey, *, validate: bool, metadata: bool) -> SessionRow:
        # The key is taken before reading: if the file changes while it is read, the next event
        # finds a newer key and reads it again, so the cache never keeps stale content.
        self.parses += 1
        row = read_row(path, key, validate=validate or metadata, keep_metadata=metadata)
        self._rows[row.key] = row
        return row

    def rows(
        self, paths: Iterable[str], keys: dict[str, StatKey], *, validate: bool, metadata: bool
    ) -> list[SessionRow]:
        """``get`` of each of ``paths``, whose stat values a scan just took (``keys``)."""
        rows = []
        cached_rows = self._rows
        for path in paths:
            key = keys[path]
            cached = cached_rows.get(path)
            if cached is None or not _serves(cached, key, validate=validate, metadata=metadata):
                cached = self._read(Path(path), key, validate=validate, metadata=metadata)
            rows.append(cached)
        return rows

    def missing(self, paths: Iterable[str], keys: dict[str, StatKey]) -> list[str]:
        """The ``paths`` whose validated row a plain ``get`` would read (new or changed)."""
        rows = self._rows
        return [
            path
            for path in paths
            if (cached := rows.get(path)) is None
            or not _serves(cached, keys[path], validate=True, metadata=False)
        ]

    def add(self, rows: Iterable[SessionRow]) -> None:
        """Keep ``rows``, just read from their files (elsewhere: see read_rows_in_processes)."""
        for row in rows:
            self.parses += 1
            self._rows[row.key] = row

    def seed(self, rows: Iterable[SessionRow]) -> None:
        """Take ``rows`` (of the persisted index) for files not read yet; each is used only
        while its file keeps the same stat values."""
        for row in rows:
            self._rows.setdefault(row.key, row)


_PAUSES = threading.Lock()
_paused = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while many rows are made, then as it was.

    Reading 10,000 files makes millions of small objects that live on (the rows and their
    validated documents, kept by the cache): the collector then keeps re-scanning them, which
    cost a third of a full listing. Nothing made here is a garbage cycle. Nested and concurrent
    pauses (a listing in the app's thread while another runs) count: the last one restores.
    """
    global _paused, _collector_was_enabled
    with _PAUSES:
        if _paused == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _PAUSES:
            _paused -= 1
            if _paused == 0 and _collector_was_enabled:
                gc.enable()


def newest_first(keys: dict[str, StatKey], limit: int | None = None) -> list[str]:
    """The paths of ``keys`` by modification time, newest first, then by name (the ``limit`` first).

    All paths are in one directory, so comparing them compares their names. With a limit,
    ``heapq.nlargest`` keeps 20 of 10,000 paths without sorting them all.
    """
    if limit is None:
        return sorted(keys, key=lambda path: (keys[path][0], path), reverse=True)
    return heapq.nlargest(limit, keys, key=lambda path: (keys[path][0], path))


def scan_keys(directory: Path) -> dict[str, StatKey]:
    """Stat values of every session file of ``directory``, by path (no file is opened).

    Keyed by ``str``: building 10,000 Path objects would cost more than the 10,000 stat calls.
    """
    keys: dict[str, StatKey] = {}
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return keys
    with entries:
        for entry in entries:
            if not is_session_candidate(entry.name):
                continue
            try:
                st = entry.stat()
            except OSError:
                # A dangling link is still a session file, reported as unreadable.
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
            keys[entry.path] = _key(st)
    return keys


Rows = list[SessionRow]
"""(Named here: inside SessionStore, ``list`` is its method.)"""


@dataclass
class Listing:
    """The newest session files of a directory, as rows (readable or not), newest first."""

    rows: list[SessionRow] = field(default_factory=list)
    total_files: int = 0
    """Candidate files in the directory (listed or not)."""
    directory_exists: bool = True
    keys: dict[str, StatKey] = field(default_factory=dict, repr=False)
    """Stat values of every candidate file when listed: what a watcher compares with, and what
    a window of the newest files is taken from."""


class SessionStore:
    """Reads and writes the metadata files of one workspace."""

    def __init__(
        self, workspace: Workspace, cache: SessionCache | None = None, *, processes: int = 1
    ) -> None:
        self.workspace = workspace
        self.cache = cache if cache is not None else SessionCache()
        """Rows by path and stat values; shared with the watcher."""
        self.processes = processes
        """How many processes may validate the files of one listing (see
        read_rows_in_processes): the commands use every CPU, the app (threads) one."""
        self._index_loaded = False

    @property
    def directory(self) -> Path:
        return self.workspace.sessions_dir

    # -- listing ---------------------------------------------------------------------------

    def candidate_paths(self) -> list[Path]:
        """Every candidate file, newest first by modification time (then by name); none read."""
        return [Path(path) for path in newest_first(scan_keys(self.directory))]

    def list(
        self, limit: int | None = DEFAULT_LIMIT, *, validate: bool = True, metadata: bool = False
    ) -> Listing:
        """The rows of the ``limit`` newest candidate files (all when None), newest first.

        Only those files are read, and through the cache: a file unchanged since the last
        listing (same stat values) is not read again. A listing of every file also takes the
        rows of files unchanged since any earlier run from the persisted index (see
        engine.row_index), and writes it again when it read any file. Without ``validate``
        the rows are made without pydantic (see engine.rows); with ``metadata`` each readable
        row carries its validated document.
        """
        if not self.directory.is_dir():
            return Listing(directory_exists=False)
        keys = scan_keys(self.directory)
        full = limit is None and validate
        if full and not self._index_loaded:
            self._index_loaded = True
            self.cache.seed(load_index(self.workspace))
        parses = self.cache.parses
        rows = self.rows(newest_first(keys, limit), keys, validate=validate, metadata=metadata)
        if full and not metadata and self.cache.parses != parses:
            # Not after a listing with documents (a search, at every key typed): it read every
            # file anyway, and the next plain full listing writes the index.
            save_index(self.workspace, rows)
        return Listing(rows, len(keys), True, keys)

    def rows(
        self,
        paths: Iterable[str],
        keys: dict[str, StatKey],
        *,
        validate: bool = True,
        metadata: bool = False,
    ) -> Rows:
        """The rows of ``paths`` (whose stat values are ``keys``), in that order."""
        with collector_paused():
            if validate and not metadata and self.processes > 1:
                paths = list(paths)
                missing = self.cache.missing(paths, keys)
                if len(missing) >= PARALLEL_MIN_FILES:
                    self.cache.add(read_rows_in_processes(missing, keys, self.processes))
            return self.cache.rows(paths, keys, validate=validate, metadata=metadata)

    def load(self, path: Path) -> TrainingMetadata:
        """Read one file. Raises MetadataError."""
        return read_metadata(path)

    # -- resolving references -----------------------------------------------------------------

    def resolve(self, reference: str) -> Path:
        """The metadata file named by a session id, a file name or path, or a history index.

        Raises SessionNotFoundError with what was tried.
        """
        reference = reference.strip()
        as_path = expand_user(reference)
        if as_path.suffix == ".json" and as_path.is_file():
            return as_path.resolve()
        in_directory = self.directory / reference
        if is_session_candidate(reference) and in_directory.is_file():
            return in_directory
        if reference.isdigit():
            index = int(reference)
            listing = self.list(limit=None)
            readable = [row for row in listing.rows if row.readable]
            if 1 <= index <= len(readable):
                return readable[index - 1].path
            raise SessionNotFoundError(
                f"no session #{index} in the history ({len(readable)} readable sessions);"
                " run `llmtool-tui sessions --all` to see the numbers"
            )
        found = self.find_by_session_id(reference)
        if found is not None:
            return found
        raise SessionNotFoundError(
            f"no session matches {reference!r}; give a session id, a metadata file name or"
            " path, or a number from `llmtool-tui sessions`"
        )

    def find_by_session_id(self, session_id: str) -> Path | None:
        """The file of a session id: the conventional file name first, then a full scan."""
        match = re.fullmatch(r"train_(\d{8}_\d{6}(?:_\d+)?)", session_id)
        if match:
            guess = self.directory / f"{FILE_PREFIX}{match.group(1)}.json"
            with contextlib.suppress(MetadataError):
                if guess.is_file() and read_metadata(guess).session_id == session_id:
                    return guess
        for path in self.candidate_paths():
            if not may_mention(path, session_id):
                continue
            row = self.cache.get(path)
            if row is not None and row.readable and row.session_id == session_id:
                return path
        return None

    # -- writing --------------------------------------------------------------------------------

    def lock(self, path: Path) -> FileLock:
        """The lock guarding read-modify-write updates of ``path``."""
        # Imported here: it costs 17 ms (logging, socket...), and listing never locks.
        from filelock import FileLock

        self.workspace.locks_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(self.workspace.locks_dir / f"{path.name}.lock", timeout=LOCK_TIMEOUT_S)

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        from filelock import Timeout

        try:
            with self.lock(path):
                yield
        except Timeout:
            raise StoreError(
                f"{path.name} is locked by another process for more than {LOCK_TIMEOUT_S:.0f} s;"
                f" retry, or remove {self.workspace.locks_dir} if no llmtool-tui process is running"
            ) from None

    def create(self, metadata: TrainingMetadata, now: datetime | None = None) -> Path:
        """Write a new session file ``training_metadata_<timestamp>.json``; never overwrites.

        When the second is taken (file or session id), a ``_N`` suffix is added to both the file
        name and the session id, so that ids stay unique.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = metadata.training_session.timestamp or (now or datetime.now()).strftime(
            "%Y%m%d_%H%M%S"
        )
        wants_default_id = metadata.training_session.session_id in ("", f"train_{stamp}")
        if not wants_default_id and self.find_by_session_id(metadata.session_id) is not None:
            raise StoreError(f"session id {metadata.session_id!r} already exists")
        for attempt in range(1, 10_000):
            suffix = "" if attempt == 1 else f"_{attempt}"
            if wants_default_id:
                session_id = f"train_{stamp}{suffix}"
                if self.find_by_session_id(session_id) is not None:
                    continue
                metadata.training_session.session_id = session_id
            path = self.directory / f"{FILE_PREFIX}{stamp}{suffix}.json"
            if atomic_create_json(path, metadata.to_document()):
                return path
        raise StoreError(f"could not find a free file name for timestamp {stamp}")

    def save(self, path: Path, metadata: TrainingMetadata) -> None:
        """Replace a file's whole document, under its lock."""
        with self._locked(path):
            atomic_write_json(path, metadata.to_document())

    def update(
        self,
        path: Path,
        mutate: Callable[[TrainingMetadata], None],
        *,
        keep_mtime: bool = False,
    ) -> TrainingMetadata:
        """Read, change with ``mutate``, validate and write back, holding the file's lock.

        The status change ``mutate`` makes is checked (InvalidTransitionError); unknown keys
        are kept. With ``keep_mtime`` the file keeps its modification time, which orders the
        history: an annotation (notes, tags) is no training activity and moves no session (the
        new inode, size and ctime still tell every cache and watcher that the file changed).
        Returns the document as written.
        """
        from engine.schema import TrainingMetadata

        with self._locked(path):
            metadata = read_metadata(path)
            # Taken under the lock: the last locked writer's time (a worker's status) is kept.
            kept = _stat(path) if keep_mtime else None
            mtime_ns = kept.st_mtime_ns if kept is not None else None
            old_status = metadata.execution_status.status
            mutate(metadata)
            new_status = metadata.execution_status.status
            if new_status != old_status:
                probe = metadata.execution_status.model_copy(update={"status": old_status})
                probe.check_transition(new_status)
            # Re-validate the whole document: mutate may have assigned nested values.
            document = TrainingMetadata.from_document(metadata.to_document()).to_document()
            atomic_write_json(path, document, mtime_ns=mtime_ns)
            return TrainingMetadata.from_document(document)

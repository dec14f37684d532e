"""Shareable templates: export a session's configuration; import a template or a colleague's file.

A template is the metadata document without what belongs to one machine or one run (pid, host,
process start time, heartbeat, results, timestamps, environment, output paths), with absolute
paths reduced to file names, and marked by a top-level ``template`` block. Import turns a template,
or any collaborator's metadata file, into a new ``pending`` session of this workspace.

Imported files are untrusted. Nothing in them is executed or used as a place to write: the new
session's id, file name and run folder are minted here; keys that would make a model loader run
downloaded code or use credentials (``trust_remote_code``, tokens) are removed at any depth with a
warning; files over 10 MB and documents nested deeper than ``MAX_DEPTH`` are refused; every other
value (markup, odd names) is kept literally. The file itself, and the dataset it names, are read
only when they are regular files (or links to one): a FIFO would block the import, a device
would read forever.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from filelock import Timeout

from engine.errors import BadInputError
from engine.files import (
    UnsafeFileError,
    expand_user,
    kind_of,
    open_regular,
    read_regular,
    why_unreadable,
)
from engine.filters import normalize_tags
from engine.schema import SCHEMA_VERSION, TOOL_VERSION, TrainingMetadata
from engine.store import (
    MAX_METADATA_BYTES,
    MetadataError,
    SessionStore,
    StoreError,
    parse_metadata_bytes,
)

MAX_IMPORT_BYTES = MAX_METADATA_BYTES
#: A real document nests 4 levels; the limit keeps the recursive clean-up far from Python's
#: recursion limit whatever a hostile file holds.
MAX_DEPTH = 64
TEMPLATE_KEY = "template"
IMPORTED_KEY = "imported"
#: In a template's block and an imported session's: names of models that were local folders
#: where the session was made (engine.sessions.resumability reads it).
LOCAL_MODELS_KEY = "local_models"
#: Sections that only describe a run: results, liveness, output locations, the machine, and
#: the best model's predictions over other files.
RUN_SECTIONS = ("execution_status", "output_paths", "environment", "predictions")
#: Keys that make a model loader run code from the hub or use someone's credentials. A shared
#: file must never switch them on; compared with ``-`` read as ``_`` and case ignored.
UNSAFE_KEYS = frozenset(
    {
        "trust_remote_code",
        "use_auth_token",
        "token",
        "hub_token",
        "hf_token",
        "auth_token",
        "api_key",
    }
)
#: Keys that describe one machine, one user or one moment, removed at any depth (the original
#: tool writes ``hostname``, ``user``, ``created_at``... in several sections).
MACHINE_KEYS = frozenset(
    {
        "pid",
        "host",
        "hostname",
        "user",
        "username",
        "process_started_at",
        "last_heartbeat_at",
        "python_version",
        "platform",
        "created_at",
        "last_updated",
        "updated_at",
        "started_at",
        "completed_at",
        "ended_at",
        "timestamp",
    }
)
#: Top-level user text: never mistaken for a path.
USER_TEXT_KEYS = ("notes", "tags")
_ABSOLUTE_PATH = re.compile(r"(/|~/|[A-Za-z]:[\\/]|\\\\)[^\n]*")
# Fixed namespace of the uuids derived for sessions that have none (see derived_session_uuid).
_UUID_NAMESPACE = uuid.UUID("d2c70a23-5353-47a7-b63e-4ce29af19703")


@dataclass
class Cleaned:
    """What sanitising a document changed."""

    reduced_paths: list[str] = field(default_factory=list)
    """Locations (``dataset_config.primary_file``) whose absolute path became a file name."""
    removed_unsafe: list[str] = field(default_factory=list)
    """Locations of removed unsafe keys (``model_config.trust_remote_code``)."""

    def warnings(self) -> list[str]:
        """One line per removed unsafe key."""
        return [
            f"removed {where}: a shared file may not switch on remote code or credentials"
            for where in self.removed_unsafe
        ]


@dataclass(frozen=True)
class ExportedTemplate:
    """A template document and what was removed to make it."""

    document: dict[str, Any]
    session_uuid: str
    cleaned: Cleaned


@dataclass(frozen=True)
class ImportResult:
    """The outcome of an import: a new session, or the existing one of the same ``session_uuid``."""

    path: Path
    session_id: str
    session_uuid: str
    created: bool
    """False when the file had been imported already: nothing was written."""
    dataset: str | None
    """The dataset path recorded in the session (only a file name when it was not found)."""
    dataset_found: bool
    warnings: list[str]
    models: list[str] = field(default_factory=list)
    """The models recorded in the session."""
    missing_models: list[str] = field(default_factory=list)
    """Models that are not on this machine (local directories elsewhere): the session cannot
    train until they are given (``--model PATH``)."""
    updated: bool = False
    """The file had been imported already, and the paths given replaced that session's."""

    def to_json(self) -> dict[str, Any]:
        """The ``import --json`` document."""
        return {
            "file": str(self.path),
            "session_id": self.session_id,
            "session_uuid": self.session_uuid,
            "created": self.created,
            "updated": self.updated,
            "dataset": self.dataset,
            "dataset_found": self.dataset_found,
            "models": self.models,
            "missing_models": self.missing_models,
            "warnings": self.warnings,
        }


def _file_name(path_text: str) -> str:
    # Either flavour: a collaborator's Windows path must give its file name too.
    return PurePath(path_text.replace("\\", "/")).name


def is_absolute_path(value: str) -> bool:
    """Whether a string is an absolute POSIX, home, Windows drive or UNC path."""
    return _ABSOLUTE_PATH.fullmatch(value) is not None


def derived_session_uuid(document: dict[str, Any]) -> str:
    """The ``session_uuid`` of a document, derived from its identity when it has none.

    Files of the original tool have no uuid. Deriving it from the session's id, timestamp and
    dataset (instead of drawing a random one) gives every export of the same session, and every
    import of the same collaborator's file, the same uuid, so that a re-import is recognised.
    """
    session = document.get("training_session")
    session = session if isinstance(session, dict) else {}
    recorded = session.get("session_uuid")
    if isinstance(recorded, str) and recorded:
        return recorded
    dataset = document.get("dataset_config")
    dataset = dataset if isinstance(dataset, dict) else {}
    fingerprint = dataset.get("fingerprint")
    identity = [
        session.get("session_id") or f"train_{session.get('timestamp')}",
        session.get("timestamp"),
        dataset.get("primary_file"),
        fingerprint.get("sha256") if isinstance(fingerprint, dict) else None,
    ]
    return str(uuid.uuid5(_UUID_NAMESPACE, json.dumps(identity, default=str)))


def _depth(value: Any) -> int:
    """Nesting depth, counted without recursion (the value may be hostile)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _clean(value: Any, location: str, cleaned: Cleaned) -> Any:
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, child in value.items():
            where = f"{location}.{key}" if location else key
            normalised = key.lower().replace("-", "_")
            if normalised in UNSAFE_KEYS:
                cleaned.removed_unsafe.append(where)
            elif normalised not in MACHINE_KEYS:
                result[key] = child if where in USER_TEXT_KEYS else _clean(child, where, cleaned)
        return result
    if isinstance(value, list):
        return [_clean(child, f"{location}[{i}]", cleaned) for i, child in enumerate(value)]
    if isinstance(value, str) and is_absolute_path(value):
        cleaned.reduced_paths.append(location)
        return _file_name(value)
    return value


def without_unsafe_keys(value: Any, location: str = "") -> tuple[Any, list[str]]:
    """A copy of a JSON value without UNSAFE_KEYS at any depth, and where they were.

    Relaunching a collaborator's session must not carry ``trust_remote_code`` into the new one,
    any more than importing it does.
    """
    removed: list[str] = []
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, child in value.items():
            where = f"{location}.{key}" if location else key
            if key.lower().replace("-", "_") in UNSAFE_KEYS:
                removed.append(where)
                continue
            result[key], inner = without_unsafe_keys(child, where)
            removed.extend(inner)
        return result, removed
    if isinstance(value, list):
        items = []
        for i, child in enumerate(value):
            item, inner = without_unsafe_keys(child, f"{location}[{i}]")
            items.append(item)
            removed.extend(inner)
        return items, removed
    return value, removed


def sanitize_document(document: dict[str, Any], name: str) -> tuple[dict[str, Any], Cleaned]:
    """A copy without run sections, machine keys and unsafe keys, absolute paths reduced.

    Raises:
        BadInputError: the document (``name`` in the message) nests deeper than MAX_DEPTH.
    """
    if _depth(document) > MAX_DEPTH:
        raise BadInputError(
            f"{name}: nested deeper than {MAX_DEPTH} levels; a metadata file nests about 4,"
            " so this is not one"
        )
    cleaned = Cleaned()
    kept = {key: value for key, value in document.items() if key not in RUN_SECTIONS}
    result = _clean(kept, "", cleaned)
    return result, cleaned


def export_template(metadata: TrainingMetadata, *, now: datetime | None = None) -> ExportedTemplate:
    """The shareable template of a session.

    Returns:
        The document: the configuration (dataset config with file names instead of absolute
        paths, labels, languages, text analysis, model config, split, notes, tags, collaborators'
        sections) under a top-level ``template`` block; and what was removed.
    """
    source = metadata.to_document()
    session_uuid = derived_session_uuid(source)
    document, cleaned = sanitize_document(source, f"cannot export {metadata.session_id}")
    # Where this workspace imported the session from is its own history, not configuration.
    document.pop(IMPORTED_KEY, None)
    session = document["training_session"]
    # The id and parent name sessions of this workspace: the importer mints its own.
    for key in ("session_id", "parent_session_id"):
        session.pop(key, None)
    session["session_uuid"] = session_uuid
    stamp = (now or datetime.now().astimezone()).isoformat(timespec="seconds")
    block: dict[str, Any] = {
        "exported_from": metadata.session_id,
        "exported_at": stamp,
        "tool_version": TOOL_VERSION,
    }
    local_models = _reduced_models(_section(document, "model_config"), cleaned)
    if local_models:
        # Reduced to their folder's name, they would read as hub ids: the importer must know
        # that they are folders to be given, not models to download.
        block[LOCAL_MODELS_KEY] = local_models
    return ExportedTemplate({TEMPLATE_KEY: block, **document}, session_uuid, cleaned)


def read_import_file(path: Path) -> dict[str, Any]:
    """Read a template or metadata file to import: kind and size checked before reading.

    Raises:
        BadInputError: missing, not a regular file (a FIFO, a device, a directory...), over
            10 MB, not UTF-8 JSON, or not a JSON object.
    """
    try:
        raw = read_regular(path, MAX_IMPORT_BYTES)
    except OSError as exc:
        if isinstance(exc, UnsafeFileError) and exc.errno == errno.EFBIG:
            raise BadInputError(
                f"cannot import {path.name}: over the {MAX_IMPORT_BYTES:,}-byte limit of a"
                " metadata file; this is not a template"
            ) from None
        reason = why_unreadable(path, exc)
        fix = (
            "give a template or metadata file"
            if reason.endswith("not a regular file")
            else "check the path"
        )
        raise BadInputError(f"cannot import {path}: it {reason}; {fix}") from None
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        # The store words what is wrong (JSON line and column, bad byte, nesting, not an object).
        try:
            parse_metadata_bytes(path, raw)
        except MetadataError as exc:
            raise BadInputError(f"cannot import {path.name}: {exc.reason}") from None
        raise BadInputError(f"cannot import {path.name}: not a JSON object")
    return document


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name)
    return value if isinstance(value, dict) else {}


def _locate_dataset(
    store: SessionStore, source: Path, recorded: str | None, explicit: Path | None
) -> tuple[str | None, bool, list[str]]:
    """The dataset path for the new session, whether it exists, and warnings."""
    if explicit is not None:
        chosen = expand_user(str(explicit))
        try:
            # Opened, not only looked at: a FIFO or a device is refused here, without blocking.
            with open_regular(chosen):
                pass
        except FileNotFoundError as exc:
            reason = why_unreadable(chosen, exc)
            raise BadInputError(
                f"--dataset {explicit}: "
                + ("no such file" if reason == "does not exist" else reason)
                + "; give the dataset's path"
            ) from None
        except OSError as exc:
            raise BadInputError(
                f"--dataset {explicit} {why_unreadable(chosen, exc)}; give the dataset's path"
            ) from None
        return str(chosen.resolve()), True, []
    name = _file_name(recorded) if recorded else ""
    if name in ("", ".", "..") or "\0" in name:
        return None, False, ["the file names no dataset; it must be chosen before training"]
    unusable: list[str] = []
    for folder in (source.parent, store.workspace.root):
        candidate = folder / name
        kind = _kind(candidate)
        if kind == "a regular file":
            return str(candidate.resolve()), True, []
        if kind is not None:
            unusable.append(f"{kind} at {candidate}")
    found = f", only {' and '.join(unusable)}" if unusable else ""
    return (
        name,
        False,
        [
            f"dataset {name!r} was not found next to {source.name} or in {store.workspace.root}"
            f"{found}; it must be located before training (relaunch the session with the"
            " dataset's path)"
        ],
    )


def _kind(path: Path) -> str | None:
    """``a regular file``, ``a named pipe (FIFO)``...: what is at ``path`` (links followed), if
    anything. Only looked at, never opened."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    return "a regular file" if stat.S_ISREG(mode) else kind_of(mode)


def _dataset_changes(document: dict[str, Any], dataset_path: str) -> list[str]:
    """Warnings when the located dataset differs from the fingerprint the file recorded."""
    recorded = _section(document, "dataset_config").get("fingerprint")
    if not isinstance(recorded, dict):
        return []
    # Imported here: the analysis package is not needed by any other import path.
    from engine.analysis.fingerprint import fingerprint_changes, fingerprint_file
    from engine.schema import Fingerprint

    try:
        expected = Fingerprint.model_validate(recorded)
    except ValueError:
        return []
    changes = fingerprint_changes(expected, fingerprint_file(Path(dataset_path)))
    if not changes:
        return []
    return [
        f"dataset {dataset_path} differs from the one the configuration was made with"
        f" ({'; '.join(changes)}); its labels and statistics may not apply"
    ]


def _reduced_models(model_config: dict[str, Any], cleaned: Cleaned) -> list[str]:
    """Names of ``model_config``'s models whose absolute path ``cleaned`` reduced to a name."""
    reduced = set(cleaned.reduced_paths)
    names = []
    if "model_config.selected_model" in reduced:
        names.append(model_config.get("selected_model"))
    selected = model_config.get("selected_models")
    for index, name in enumerate(selected if isinstance(selected, list) else []):
        if f"model_config.selected_models[{index}]" in reduced:
            names.append(name)
    return sorted({name for name in names if isinstance(name, str)})


def _recorded_local_models(block: dict[str, Any]) -> list[str]:
    names = block.get(LOCAL_MODELS_KEY)
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def _model_names(model_config: dict[str, Any]) -> list[str]:
    selected = model_config.get("selected_models")
    if isinstance(selected, list) and selected:
        return [name for name in selected if isinstance(name, str)]
    first = model_config.get("selected_model")
    return [first] if isinstance(first, str) and first else []


def _set_models(model_config: dict[str, Any], names: list[str]) -> None:
    model_config["selected_models"] = names
    model_config["selected_model"] = names[0] if names else None


def replace_models(names: list[str], given: list[Path]) -> list[str]:
    """``names`` with each model folder of ``given`` in place of the model of its name.

    A folder replaces the model named like it (``tiny`` for ``/models/tiny``); a session with one
    model takes a single folder whatever its name.

    Raises:
        BadInputError: a folder that is not a complete model, or that matches no model.
    """
    from engine.sessions.models import resolve_model

    result = list(names)
    for folder in given:
        resolved = resolve_model(str(folder)).source
        matches = [i for i, name in enumerate(result) if _file_name(name) == Path(resolved).name]
        if not matches and len(result) == 1:
            matches = [0]
        if not matches:
            listed = ", ".join(repr(name) for name in result) or "none"
            raise BadInputError(
                f"--model {folder}: the session's models are {listed}; give the folder of one"
                " of them, named like it"
            )
        result[matches[0]] = resolved
    return result


def _found_model_folder(name: str, folders: tuple[Path, ...]) -> str | None:
    """A complete model folder named ``name`` in one of ``folders`` (absolute), else None."""
    from engine.sessions.models import model_on_this_machine

    base = _file_name(name)
    if base in ("", ".", "..") or "\0" in base:
        return None
    for folder in folders:
        candidate = folder / base
        if candidate.is_dir() and model_on_this_machine(str(candidate)) is None:
            return str(candidate.resolve())
    return None


def _model_warnings(names: list[str], local_elsewhere: set[str]) -> tuple[list[str], list[str]]:
    """Warnings about the models, and the models missing here (those cannot train)."""
    from engine.analysis.catalog import is_available_offline
    from engine.sessions.models import model_on_this_machine

    warnings, missing = [], []
    for name in names:
        problem = model_on_this_machine(name, local_elsewhere=name in local_elsewhere)
        if problem is not None:
            missing.append(name)
            warnings.append(f"{problem}: the session cannot train until its folder is given")
        elif not is_available_offline(name):
            warnings.append(
                f"model {name!r} is not in the local Hugging Face cache: training downloads it,"
                " if the hub can be reached"
            )
    return warnings, missing


def _find_by_uuid(store: SessionStore, session_uuid: str) -> tuple[Path, str] | None:
    for row in store.list(limit=None, metadata=True).rows:
        if row.metadata is not None and derived_session_uuid(row.metadata.to_document()) == (
            session_uuid
        ):
            return row.path, row.session_id
    return None


def import_session(
    store: SessionStore,
    source: Path,
    *,
    dataset: Path | None = None,
    models: Sequence[Path] = (),
    now: datetime | None = None,
) -> ImportResult:
    """Turn a template or a collaborator's metadata file into a new pending session.

    The new session gets a fresh id and timestamp, status ``pending``, no environment, results or
    output paths; its ``session_uuid`` is the file's (derived when it has none). When a session
    with that uuid exists, it is returned (``created`` False): unchanged, or with the dataset and
    model paths given here in place of its own (``updated``).

    Models that were local folders where the file was made are recorded by their folder's name
    only; they are looked for next to the file and in the workspace's ``models/``, and the
    session names those not found (``missing_models``): it cannot train until they are given.

    Args:
        store: the workspace's store.
        source: the template or metadata file.
        dataset: the dataset's path here; by default the recorded file name is looked for next to
            ``source`` and in the workspace root, and kept as a bare name (with a warning) when
            it is in neither.
        models: model folders on this machine, each replacing the model named like it (or the
            session's only model).
        now: the clock, for the new timestamp.

    Raises:
        BadInputError: the file is unreadable, too large, too deep or not a valid document,
            ``dataset`` does not exist, a model folder is incomplete or matches no model, or the
            existing session to update is running.
        StoreError: the sessions folder cannot be written.
    """
    now = now or datetime.now()
    original = read_import_file(source)
    session_uuid = derived_session_uuid(original)
    document, cleaned = sanitize_document(original, f"cannot import {source.name}")
    warnings = cleaned.warnings()

    source_session = _section(original, "training_session")
    template_block = _section(original, TEMPLATE_KEY)
    dataset_config = _section(original, "dataset_config")
    primary = dataset_config.get("primary_file")
    dataset_path, found, dataset_warnings = _locate_dataset(
        store, source, primary if isinstance(primary, str) else None, dataset
    )
    warnings += dataset_warnings
    if found and dataset_path is not None:
        warnings += _dataset_changes(document, dataset_path)

    model_config = _section(document, "model_config")
    local_elsewhere = set(_recorded_local_models(template_block)) | set(
        _reduced_models(model_config, cleaned)
    )
    names = replace_models(_model_names(model_config), list(models))
    folders = (source.parent, store.workspace.models_dir)
    for index, name in enumerate(names):
        if name in local_elsewhere and (folder := _found_model_folder(name, folders)):
            names[index] = folder
    if isinstance(document.get("model_config"), dict):
        _set_models(document["model_config"], names)
    local_elsewhere &= set(names)
    model_warnings, missing_models = _model_warnings(names, local_elsewhere)
    warnings += model_warnings

    document.pop(TEMPLATE_KEY, None)
    document["schema_version"] = SCHEMA_VERSION
    session = _section(document, "training_session")
    for key in ("session_id", "parent_session_id"):
        session.pop(key, None)
    document["training_session"] = {
        **session,
        "timestamp": now.strftime("%Y%m%d_%H%M%S"),
        "tool_version": TOOL_VERSION,
        "session_uuid": session_uuid,
    }
    if isinstance(document.get("dataset_config"), dict):
        document["dataset_config"]["primary_file"] = dataset_path
    if isinstance(document.get("tags"), list) and all(
        isinstance(tag, str) for tag in document["tags"]
    ):
        document["tags"] = normalize_tags(document["tags"])
    document[IMPORTED_KEY] = {
        "source_file": source.name,
        "source_session_id": template_block.get("exported_from")
        or source_session.get("session_id"),
        "source_tool_version": template_block.get("tool_version")
        or source_session.get("tool_version"),
        "from_template": bool(template_block),
        "imported_at": now.isoformat(timespec="seconds"),
        LOCAL_MODELS_KEY: sorted(local_elsewhere),
    }
    try:
        # The store's parser gives the precise reason a document is refused (the failing field).
        metadata = parse_metadata_bytes(source, json.dumps(document).encode("utf-8"))
    except MetadataError as exc:
        raise BadInputError(f"cannot import {source.name}: {exc.reason}") from None

    # Two imports of the same file at once must not both create a session: the check and the
    # creation happen under one lock per uuid. The uuid comes from the file, so the lock's name
    # is its hash: any string gives a short, plain file name.
    lock_name = f"import_{hashlib.sha256(session_uuid.encode()).hexdigest()[:32]}"
    try:
        with store.lock(store.directory / lock_name):
            existing = _find_by_uuid(store, session_uuid)
            if existing is None:
                path = store.create(metadata, now=now)
    except Timeout:
        raise StoreError(
            f"another import of session {session_uuid} holds its lock; retry when it is done"
        ) from None
    if existing is not None:
        path, session_id = existing
        if dataset is None and not models:
            # Dataset warnings concern a session that is not created: only the safety ones stay.
            return ImportResult(
                path, session_id, session_uuid, False, None, False, cleaned.warnings()
            )
        return _update_paths(store, path, dataset_path if dataset else None, list(models))
    return ImportResult(
        path,
        metadata.session_id,
        session_uuid,
        True,
        dataset_path,
        found,
        warnings,
        names,
        missing_models,
    )


def _update_paths(
    store: SessionStore, path: Path, dataset: str | None, models: list[Path]
) -> ImportResult:
    """Give an imported session the dataset and model folders of a second import of its file."""
    warnings: list[str] = []

    def point_to_new_paths(metadata: TrainingMetadata) -> None:
        if metadata.status == "running":
            raise BadInputError(
                f"session {metadata.session_id} is running; stop it before changing its paths"
            )
        if dataset is not None:
            metadata.dataset_config.primary_file = dataset
            warnings.extend(_dataset_changes(metadata.to_document(), dataset))
        config = metadata.training_model_config
        names = replace_models(config.models(), models)
        config.selected_models, config.selected_model = names, names[0] if names else None
        imported = (metadata.model_extra or {}).get(IMPORTED_KEY)
        if isinstance(imported, dict):
            imported[LOCAL_MODELS_KEY] = sorted(set(_recorded_local_models(imported)) & set(names))

    # A change of paths is no training activity: the session keeps its place in the history.
    metadata = store.update(path, point_to_new_paths, keep_mtime=True)
    names = metadata.training_model_config.models()
    imported = (metadata.model_extra or {}).get(IMPORTED_KEY)
    local = set(_recorded_local_models(imported)) if isinstance(imported, dict) else set()
    model_warnings, missing = _model_warnings(names, local)
    recorded = metadata.dataset_config.primary_file
    return ImportResult(
        path,
        metadata.session_id,
        derived_session_uuid(metadata.to_document()),
        False,
        recorded,
        recorded is not None and expand_user(recorded).is_file(),
        warnings + model_warnings,
        names,
        missing,
        updated=True,
    )

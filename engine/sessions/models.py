"""Where a model comes from: a local directory, or a hub id found in the local cache.

Training machines are often offline, and ``from_pretrained`` on an uncached hub id would retry the
network for a long time before failing. So a model is resolved before anything heavy happens:

* a local directory must hold ``config.json`` and weights;
* a hub id must be in the local Hugging Face cache (read from the disk only), and is then always
  loaded with ``local_files_only=True``;
* an uncached hub id fails at once when ``HF_HUB_OFFLINE`` is set, and otherwise after one hub
  query bounded by ``HUB_PROBE_TIMEOUT_S``; only when the hub answers is it downloaded.

A local directory may be named in a session file from another machine: a FIFO, socket or device
among its files (``config.json`` made with ``mkfifo``, a link to ``/dev/zero``) would make the
loader block or read forever, so such a directory is refused before anything opens it.

Importable without torch.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInputError, Remedy
from engine.files import expand_user, kind_of

HUB_PROBE_TIMEOUT_S = 5.0
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: Entries of a model directory looked at for FIFOs and devices; a model directory holds a
#: dozen files, and one holding more is not listed to its end.
MAX_DIRECTORY_ENTRIES = 10_000


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load."""

    name: str
    """The name the user gave (hub id or path), as recorded in the metadata."""
    source: str
    """What to pass to ``from_pretrained``: an absolute directory or the hub id."""
    local_files_only: bool
    """Load without any network access."""


def hub_offline() -> bool:
    """Whether the hub is switched off by the environment."""
    return any(
        os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE")
        for name in _OFFLINE_VARIABLES
    )


def _how_to_fix(model: str) -> Remedy:
    download = (
        f"download it where there is internet (`hf download {model}`, which fills"
        " ~/.cache/huggingface/hub) and copy the cache here, or"
    )
    return Remedy(
        shell=f"{download} pass a local model directory with --model (`llmtool-tui demo-model"
        " DIR` builds a small offline one)",
        app=f"{download} give a local model directory (`llmtool-tui demo-model DIR` builds a"
        " small offline one)",
    )


def _looks_local(name: str) -> bool:
    local = expand_user(name)
    return local.is_absolute() or name.startswith((".", "~")) or local.exists()


def absolute_model_name(model: str) -> str:
    """A local model directory as an absolute path (hub ids unchanged).

    Sessions record it so: the worker runs in the workspace, not in the caller's directory. A
    name with a NUL character is returned as given: ``resolve_model`` refuses it.
    """
    name = model.strip()
    if "\0" in name or not _looks_local(name):
        return name
    return str(expand_user(name).resolve())


def special_file(directory: Path) -> str | None:
    """``config.json is a named pipe (FIFO)``: the first entry of ``directory`` (links followed)
    that is neither a regular file nor a directory, or None when there is none.

    Only looked at (``stat``), never opened. A broken link is not reported: a loader that needs
    the file reports it missing.
    """
    try:
        with os.scandir(directory) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_DIRECTORY_ENTRIES:
                    break
                try:
                    mode = entry.stat().st_mode
                except OSError:
                    continue
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    return f"{entry.name} is {kind_of(mode)}"
    except OSError:
        return None
    return None


def resolve_model(model: str) -> ResolvedModel:
    """Resolve ``model`` or fail fast with what to do.

    Raises:
        BadInputError: an incomplete local directory, or a hub id that is not cached and cannot
            be fetched (offline, or the hub did not answer within ``HUB_PROBE_TIMEOUT_S``).
    """
    # Imported here: engine.analysis pulls pandas, which the UI should not pay for at start-up.
    from engine.analysis.catalog import is_available_offline

    name = model.strip()
    if not name:
        raise BadInputError("empty model name; give a hub id or a model directory")
    if "\0" in name:
        raise BadInputError(f"model {name!r} has a NUL character; check the name or the path")
    local = expand_user(name)
    if _looks_local(name):
        if not local.is_dir():
            what = "is not a directory" if local.exists() else "does not exist"
            raise BadInputError(f"model directory {local} {what}; check the path")
        problem = special_file(local)
        if problem is not None:
            raise BadInputError(
                f"model directory {local}: {problem}, not a regular file; a model directory"
                " holds regular files only (save the model there with save_pretrained)"
            )
        if not is_available_offline(str(local)):
            raise BadInputError(
                f"model directory {local} lacks config.json or weights (model.safetensors);"
                " save the model there with save_pretrained"
            )
        return ResolvedModel(name, str(local.resolve()), local_files_only=True)
    if is_available_offline(name):
        return ResolvedModel(name, name, local_files_only=True)
    if hub_offline():
        raise BadInputError(
            f"model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set",
            _how_to_fix(name),
        )
    _probe_hub(name)
    return ResolvedModel(name, name, local_files_only=False)


def _probe_hub(name: str) -> None:
    """One bounded query to the hub; raises BadInputError when it cannot serve ``name``."""
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(name, timeout=HUB_PROBE_TIMEOUT_S)
    except Exception as exc:
        # Whatever the failure (no network, DNS, timeout, unknown repo, gated repo), the model
        # cannot be obtained now; the class name and first line say which.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(
            f"model {name!r} is not in the local Hugging Face cache and the hub could not"
            f" provide it ({type(exc).__name__}: {reason[:160]})",
            _how_to_fix(name),
        ) from None


def model_on_this_machine(model: str, *, local_elsewhere: bool = False) -> str | None:
    """Why ``model`` cannot be loaded here, from the disk only (no hub query), else None.

    A local directory must be complete. A bare name that was a local directory on the machine a
    session came from (``local_elsewhere``) is not a hub id: it must be in the cache under that
    name or be given as a path. Other hub ids are left to the worker, which may download them.
    """
    from engine.analysis.catalog import is_available_offline

    name = model.strip()
    if not name or "\0" in name or _looks_local(name):
        try:
            resolve_model(name)
        except BadInputError as exc:
            return exc.problem
        return None
    if local_elsewhere and not is_available_offline(name):
        return (
            f"model {name!r} was a local directory on the machine the session came from, and is"
            " not on this one"
        )
    return None


def no_model_chosen() -> BadInputError:
    """The refusal of a session without a model."""
    return BadInputError(
        "no model chosen",
        Remedy(shell="pass --model (a hub id or a model directory)", app="choose a model"),
    )


def check_models(models: list[str]) -> list[ResolvedModel]:
    """Resolve every model of a session, failing on the first that is unavailable."""
    if not models:
        raise no_model_chosen()
    return [resolve_model(model) for model in models]

"""Where a model comes from: a local directory, or a hub id found in the local cache.

Training machines are often offline, and ``from_pretrained`` on an uncached hub id would retry the
network for a long time before failing. So a model is resolved before anything heavy happens:

* a local directory must hold ``config.json`` and weights;
* a hub id must be in the local Hugging Face cache (read from the disk only), and is then always
  loaded with ``local_files_only=True``;
* an uncached hub id fails at once when ``HF_HUB_OFFLINE`` is set, and otherwise after one hub
  query bounded by ``HUB_PROBE_TIMEOUT_S``; only when the hub answers is it downloaded.

Importable without torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInputError

HUB_PROBE_TIMEOUT_S = 5.0
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


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


def _how_to_fix(model: str) -> str:
    return (
        f"download it where there is internet (`hf download {model}`, which fills"
        " ~/.cache/huggingface/hub) and copy the cache here, or pass a local model directory"
        " with --model (`llmtool-tui demo-model DIR` builds a small offline one)"
    )


def _looks_local(name: str) -> bool:
    local = Path(name).expanduser()
    return local.is_absolute() or name.startswith((".", "~")) or local.exists()


def absolute_model_name(model: str) -> str:
    """A local model directory as an absolute path (hub ids unchanged).

    Sessions record it so: the worker runs in the workspace, not in the caller's directory.
    """
    name = model.strip()
    return str(Path(name).expanduser().resolve()) if _looks_local(name) else name


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
    local = Path(name).expanduser()
    if _looks_local(name):
        if not local.is_dir():
            raise BadInputError(f"model directory {local} does not exist; check the path")
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
            f"model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set;"
            f" {_how_to_fix(name)}"
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
            f" provide it ({type(exc).__name__}: {reason[:160]}); {_how_to_fix(name)}"
        ) from None


def check_models(models: list[str]) -> list[ResolvedModel]:
    """Resolve every model of a session, failing on the first that is unavailable."""
    if not models:
        raise BadInputError("no model chosen; pass --model (a hub id or a model directory)")
    return [resolve_model(model) for model in models]

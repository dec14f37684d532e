"""Model resolution never hangs: local directories, cached hub ids, and fast, clear failures."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.sessions import models
from engine.sessions.models import absolute_model_name, check_models, resolve_model


def _model_dir(path: Path) -> Path:
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"weights")
    return path


def test_a_local_model_directory_resolves_offline(tmp_path: Path) -> None:
    resolved = resolve_model(str(_model_dir(tmp_path / "bert")))
    assert resolved.source == str((tmp_path / "bert").resolve())
    assert resolved.local_files_only


def test_an_incomplete_or_missing_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match=r"lacks config\.json"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(BadInputError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"))


def test_an_uncached_hub_id_fails_at_once_when_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(BadInputError) as error:
        check_models(["someone/not-cached-model"])
    assert time.monotonic() - started < 2
    message = str(error.value)
    assert "someone/not-cached-model" in message and "HF_HUB_OFFLINE" in message
    assert "hf download someone/not-cached-model" in message and "--model" in message


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """A server that accepts connections and never answers (a black-holed network)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_an_uncached_hub_id_fails_within_the_probe_timeout_when_online(
    monkeypatch: pytest.MonkeyPatch, silent_hub: str
) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", silent_hub)
    monkeypatch.setattr(models, "HUB_PROBE_TIMEOUT_S", 1.0)
    started = time.monotonic()
    with pytest.raises(BadInputError, match="could not provide it"):
        resolve_model("someone/not-cached-model")
    assert time.monotonic() - started < 10


def test_no_model_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no model chosen"):
        check_models([])


def test_local_models_are_recorded_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker runs in the workspace, not where the command was typed.
    _model_dir(tmp_path / "bert")
    monkeypatch.chdir(tmp_path)
    assert absolute_model_name("bert") == str(tmp_path / "bert")
    assert absolute_model_name("./bert") == str(tmp_path / "bert")
    assert absolute_model_name("camembert-base") == "camembert-base"
    assert absolute_model_name("org/model") == "org/model"

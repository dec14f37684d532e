"""Datasets and templates that are not data files: a clear one-line error, never a hang.

A dataset path comes from the user, a template or a session file written on another machine. It
may name a FIFO (a plain ``open`` blocks until a writer appears), ``/dev/zero`` (reads forever), a
socket, a directory, a broken link, or hold a NUL character or an unknown ``~user``. Every call
here runs in a daemon thread joined with a timeout, so that a hang fails its test instead of
freezing the suite.
"""

from __future__ import annotations

import json
import os
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.analysis.fingerprint import fingerprint_file
from engine.errors import BadInputError
from engine.facade import Engine
from engine.files import UnsafeFileError, read_regular
from engine.schema import ModelConfig
from engine.sessions.creation import build_session_metadata, create_session
from engine.sessions.models import resolve_model
from engine.sessions.resumability import assess_resume, dataset_blocker
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.cli import main
from tests.deadlines import finishes
from tests.test_training_support import dataset_config, write_tiny_dataset

UNKNOWN_USER_PATH = "~nosuchuser_xyz/data.csv"


def one_line(message: str) -> str:
    assert message and "\n" not in message.strip(), message
    assert "Traceback" not in message
    return message


# -- the bad paths ---------------------------------------------------------------------------

#: Makes a bad path in a folder and returns the path to give.
Maker = Callable[[Path], str]
#: Sockets bound by the tests, closed after each.
_SOCKETS: list[socket.socket] = []


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "data.csv")
    return str(folder / "data.csv")


def _directory(folder: Path) -> str:
    (folder / "folder.csv").mkdir()
    return str(folder / "folder.csv")


def _link_to_zero(folder: Path) -> str:
    (folder / "zero.csv").symlink_to("/dev/zero")
    return str(folder / "zero.csv")


def _link_to_fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe")
    (folder / "linked.csv").symlink_to(folder / "pipe")
    return str(folder / "linked.csv")


def _dangling_link(folder: Path) -> str:
    (folder / "gone.csv").symlink_to(folder / "nowhere.csv")
    return str(folder / "gone.csv")


def _socket(folder: Path) -> str:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound by a relative name: a socket path is limited to ~107 bytes, tmp_path may be longer.
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        server.bind("sock.csv")
    finally:
        os.chdir(cwd)
    _SOCKETS.append(server)
    return str(folder / "sock.csv")


def _nul(folder: Path) -> str:
    return str(folder / "da\0ta.csv")


def _unknown_user(folder: Path) -> str:
    return UNKNOWN_USER_PATH


def _empty_file(folder: Path) -> str:
    (folder / "empty.csv").write_bytes(b"")
    return str(folder / "empty.csv")


def _random_bytes(folder: Path) -> str:
    (folder / "noise.csv").write_bytes(random.Random(14).randbytes(4096))
    return str(folder / "noise.csv")


def _empty_name(folder: Path) -> str:
    # Path("") is ".": the current directory.
    return ""


#: name -> (maker, words the error must hold). Paths that are not regular files: refused by
#: every reader, the template import included.
NOT_REGULAR: dict[str, tuple[Maker, tuple[str, ...]]] = {
    "fifo": (_fifo, ("data.csv", "named pipe (FIFO)", "not a regular file")),
    "directory": (_directory, ("folder.csv", "a directory")),
    "link to /dev/zero": (_link_to_zero, ("zero.csv", "character device")),
    "link to a fifo": (_link_to_fifo, ("linked.csv", "named pipe (FIFO)")),
    "dangling link": (_dangling_link, ("gone.csv", "broken symbolic link", "nowhere.csv")),
    "socket": (_socket, ("sock.csv", "is a socket")),
    "nul in the name": (_nul, ("NUL character",)),
    "unknown user": (_unknown_user, (UNKNOWN_USER_PATH, "does not exist", "nosuchuser_xyz")),
    "empty name": (_empty_name, ("is a directory",)),
}
#: Regular files that are no table: the analysis refuses them, a fingerprint reads them.
NOT_A_TABLE: dict[str, tuple[Maker, tuple[str, ...]]] = {
    "empty file": (_empty_file, ("empty.csv", "empty")),
    "random bytes": (_random_bytes, ("noise.csv", "binary data")),
}
ALL_CASES = {**NOT_REGULAR, **NOT_A_TABLE}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # main() exports --workspace to the environment for worker processes; undo it after a test.
    monkeypatch.setenv("LLMTOOL_WORKSPACE", os.environ.get("LLMTOOL_WORKSPACE", "."))
    # The empty name means the current directory: make it one of this test's.
    monkeypatch.chdir(tmp_path)
    yield
    while _SOCKETS:
        _SOCKETS.pop().close()


@pytest.fixture
def bad_files(tmp_path: Path) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    return folder


def _make(case: str, folder: Path) -> tuple[str, tuple[str, ...]]:
    make, words = ALL_CASES[case]
    return make(folder), words


def _assert_names(message: str, words: tuple[str, ...]) -> None:
    one_line(message)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# -- datasets --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_analyze_refuses_with_the_reason(case: str, workspace: Workspace, bad_files: Path) -> None:
    path, words = _make(case, bad_files)
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: Engine(workspace).analyze(Path(path)), f"analyze({case})")
    _assert_names(str(raised.value), words)


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_dataset_columns_is_none(case: str, workspace: Workspace, bad_files: Path) -> None:
    path, _words = _make(case, bad_files)
    assert finishes(lambda: Engine(workspace).dataset_columns(Path(path)), case) is None


@pytest.mark.parametrize("case", list(NOT_REGULAR))
def test_fingerprint_refuses_what_is_not_a_regular_file(case: str, bad_files: Path) -> None:
    path, words = _make(case, bad_files)
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: fingerprint_file(Path(path)), f"fingerprint({case})")
    _assert_names(str(raised.value), words)


@pytest.mark.parametrize("case", list(NOT_A_TABLE))
def test_fingerprint_reads_any_regular_file(case: str, bad_files: Path) -> None:
    path, _words = _make(case, bad_files)
    found = finishes(lambda: fingerprint_file(Path(path)), case)
    assert found.size_bytes == Path(path).stat().st_size


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_the_analyze_command_prints_one_line_and_exits_2(
    case: str, workspace: Workspace, bad_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, words = _make(case, bad_files)
    code = finishes(
        lambda: main(["analyze", path, "--workspace", str(workspace.root)]), f"analyze {case}"
    )
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert captured.err.startswith("llmtool-tui: error: ")
    assert captured.err.count("\n") == 1, captured.err
    # The terminal sees the NUL escaped or not at all; the rest of the reason is as written.
    _assert_names(captured.err.replace("\0", "\\x00"), words)


def test_a_link_to_a_regular_file_is_read(workspace: Workspace, tmp_path: Path) -> None:
    real = write_tiny_dataset(tmp_path / "real.csv")
    link = tmp_path / "linked.csv"
    link.symlink_to(real)
    analysis = finishes(lambda: Engine(workspace).analyze(link), "analyze(link)")
    assert analysis.dataset_config.total_samples > 0
    assert fingerprint_file(link) == fingerprint_file(real)


# -- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(NOT_REGULAR))
def test_import_refuses_a_template_that_is_not_a_regular_file(
    case: str, workspace: Workspace, bad_files: Path
) -> None:
    path, words = _make(case, bad_files)
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: Engine(workspace).import_template(Path(path)), f"import({case})")
    message = one_line(str(raised.value))
    assert message.startswith("cannot import")
    assert words[-1] in message or words[0] in message, message
    assert list(workspace.sessions_dir.glob("*.json")) == []


@pytest.mark.parametrize(
    ("case", "words"), [("empty file", "empty file"), ("random bytes", "not UTF-8")]
)
def test_import_refuses_a_template_that_is_not_json(
    case: str, words: str, workspace: Workspace, bad_files: Path
) -> None:
    path, _words = _make(case, bad_files)
    with pytest.raises(BadInputError, match=words) as raised:
        finishes(lambda: Engine(workspace).import_template(Path(path)), f"import({case})")
    one_line(str(raised.value))
    assert list(workspace.sessions_dir.glob("*.json")) == []


def test_import_refuses_a_template_over_ten_megabytes(workspace: Workspace, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    with pytest.raises(BadInputError, match="over the 10,485,760-byte limit"):
        finishes(lambda: Engine(workspace).import_template(big), "import(big)")


def _template(tmp_path: Path, example_document: dict[str, Any], dataset: str) -> Path:
    document = json.loads(json.dumps(example_document))
    document["dataset_config"]["primary_file"] = dataset
    document["dataset_config"]["fingerprint"] = {"sha256": "0" * 64, "size_bytes": 100, "rows": 2}
    source = tmp_path / "template.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    return source


@pytest.mark.parametrize("case", list(NOT_REGULAR))
def test_import_refuses_a_dataset_that_is_not_a_regular_file(
    case: str, workspace: Workspace, bad_files: Path, tmp_path: Path, example_document: dict
) -> None:
    path, words = _make(case, bad_files)
    source = _template(tmp_path, example_document, "/elsewhere/annotated_data.csv")
    with pytest.raises(BadInputError) as raised:
        finishes(
            lambda: Engine(workspace).import_template(source, dataset=Path(path)),
            f"import --dataset ({case})",
        )
    message = one_line(str(raised.value))
    assert message.startswith("--dataset")
    assert words[-1] in message, message
    assert list(workspace.sessions_dir.glob("*.json")) == []


@pytest.mark.parametrize("case", list(NOT_A_TABLE))
def test_import_accepts_any_regular_dataset_with_a_warning(
    case: str, workspace: Workspace, bad_files: Path, tmp_path: Path, example_document: dict
) -> None:
    # Whether it is a table is the analysis's business, at training time; the import only
    # says that it is not the file the configuration was made with.
    path, _words = _make(case, bad_files)
    source = _template(tmp_path, example_document, "/elsewhere/annotated_data.csv")
    result = finishes(lambda: Engine(workspace).import_template(source, dataset=Path(path)), case)
    assert result.created and result.dataset_found
    assert any("differs from the one" in warning for warning in result.warnings)


@pytest.mark.parametrize("kind", ["fifo", "directory", "link to /dev/zero"])
def test_a_recorded_dataset_next_to_the_template_that_is_no_file_is_not_used(
    kind: str, workspace: Workspace, tmp_path: Path, example_document: dict
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    path, words = _make(kind, folder)
    source = _template(folder, example_document, f"/home/alice/{Path(path).name}")
    result = finishes(lambda: Engine(workspace).import_template(source), f"import ({kind})")
    assert result.created and not result.dataset_found
    assert result.dataset == Path(path).name
    warning = one_line(" ".join(result.warnings))
    assert "was not found" in warning and f"only a {words[1].removeprefix('a ')}" in warning


# -- sessions recording a bad dataset --------------------------------------------------------

RECORDED = ["fifo", "unknown user", "nul in the name", "link to /dev/zero", "directory"]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"")
    return model


def _session_recording(
    store: SessionStore, tmp_path: Path, model_dir: Path, recorded: str
) -> tuple[Path, Path]:
    """A saved session whose dataset_config.primary_file is ``recorded``; and the real file."""
    real = write_tiny_dataset(tmp_path / "real.csv")
    config = dataset_config(real).model_copy(update={"primary_file": recorded})
    model = ModelConfig(selected_model=str(model_dir), selected_models=[str(model_dir)])
    metadata = build_session_metadata({"dataset_config": config}, model)
    return create_session(store, metadata), real


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_relaunch_refuses_a_recorded_dataset_that_is_no_file(
    case: str,
    store: SessionStore,
    workspace: Workspace,
    bad_files: Path,
    tmp_path: Path,
    model_dir: Path,
) -> None:
    recorded, _words = _make(case, bad_files)
    path, _real = _session_recording(store, tmp_path, model_dir, recorded)
    before = sorted(workspace.sessions_dir.glob("*.json"))
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: Engine(workspace).prepare_relaunch(path), f"relaunch ({case})")
    one_line(str(raised.value))
    assert sorted(workspace.sessions_dir.glob("*.json")) == before


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_resume_refuses_a_recorded_dataset_that_is_no_file(
    case: str,
    store: SessionStore,
    workspace: Workspace,
    bad_files: Path,
    tmp_path: Path,
    model_dir: Path,
) -> None:
    recorded, _words = _make(case, bad_files)
    path, _real = _session_recording(store, tmp_path, model_dir, recorded)
    metadata = store.load(path)
    blocker = finishes(lambda: dataset_blocker(metadata), f"dataset_blocker ({case})")
    assert blocker is not None
    one_line(str(blocker))
    assessment = finishes(lambda: assess_resume(workspace, metadata), f"assess ({case})")
    assert not assessment.resumable
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: Engine(workspace).prepare_resume(path), f"resume ({case})")
    one_line(str(raised.value))


@pytest.mark.parametrize("case", RECORDED)
def test_locate_points_a_session_from_a_bad_path_to_the_real_file(
    case: str,
    store: SessionStore,
    workspace: Workspace,
    bad_files: Path,
    tmp_path: Path,
    model_dir: Path,
) -> None:
    recorded, _words = _make(case, bad_files)
    path, real = _session_recording(store, tmp_path, model_dir, recorded)
    updated = finishes(lambda: Engine(workspace).locate_dataset(path, real), f"locate ({case})")
    assert updated.dataset_config.primary_file == str(real.resolve())


@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_locate_refuses_a_new_path_that_is_not_the_dataset(
    case: str,
    store: SessionStore,
    workspace: Workspace,
    bad_files: Path,
    tmp_path: Path,
    model_dir: Path,
) -> None:
    path, _real = _session_recording(store, tmp_path, model_dir, str(tmp_path / "moved.csv"))
    new, _words = _make(case, bad_files)
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: Engine(workspace).locate_dataset(path, Path(new)), f"locate ({case})")
    one_line(str(raised.value))
    assert store.load(path).dataset_config.primary_file == str(tmp_path / "moved.csv")


# -- model directories -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "socket"])
def test_a_model_directory_holding_a_special_file_is_refused(kind: str, model_dir: Path) -> None:
    (model_dir / "config.json").unlink()
    made, words = _make(kind, model_dir)
    Path(made).rename(model_dir / "config.json")
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: resolve_model(str(model_dir)), f"resolve_model ({kind})")
    message = one_line(str(raised.value))
    assert "config.json is" in message and words[1] in message


@pytest.mark.parametrize("name", ["~nosuchuser_xyz/model", "/models/da\0ta", "da\0ta"])
def test_a_model_name_that_cannot_be_a_path_is_refused(name: str) -> None:
    with pytest.raises(BadInputError) as raised:
        finishes(lambda: resolve_model(name), f"resolve_model({name!r})")
    one_line(str(raised.value))


def test_read_regular_refuses_a_fifo_without_blocking(bad_files: Path) -> None:
    path = _fifo(bad_files)
    with pytest.raises(UnsafeFileError, match="named pipe"):
        finishes(lambda: read_regular(path, 1024), "read_regular(fifo)")

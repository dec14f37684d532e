"""The session store: atomic writes, locked updates, listing and the malformed-file corpus."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine.store as store_module
from engine.row_index import index_path
from engine.rows import SessionRow
from engine.schema import InvalidTransitionError, TrainingMetadata
from engine.store import MetadataError, SessionNotFoundError, SessionStore, read_metadata
from engine.workspace import Workspace

MakeMetadata = Callable[..., TrainingMetadata]


def _set_mtime(path: Path, seconds: float) -> None:
    os.utime(path, (seconds, seconds))


def test_create_names_files_and_keeps_ids_unique(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    first = store.create(make_metadata("20260102_030405"))
    second = store.create(make_metadata("20260102_030405"))
    assert first.name == "training_metadata_20260102_030405.json"
    assert second.name == "training_metadata_20260102_030405_2.json"
    assert read_metadata(first).session_id == "train_20260102_030405"
    assert read_metadata(second).session_id == "train_20260102_030405_2"
    assert not [p for p in store.directory.iterdir() if p.name.startswith(".")]


def test_listing_is_newest_first_and_limited(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    paths = [store.create(make_metadata(f"20260101_0000{i:02d}")) for i in range(25)]
    for age, path in enumerate(reversed(paths)):
        _set_mtime(path, 1_800_000_000 - age * 60)
    listing = store.list()
    assert listing.total_files == 25
    assert [r.path for r in listing.rows] == list(reversed(paths))[:20]
    assert len(store.list(limit=None).rows) == 25


def test_listing_parses_only_listed_files(
    store: SessionStore, make_metadata: MakeMetadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = make_metadata().to_document()
    for i in range(300):
        (store.directory / f"s{i:04d}.json").write_text(json.dumps(document))
    parsed: list[Path] = []
    original = store_module.row_from_bytes

    def counting(path: Path, *args: Any, **kwargs: Any) -> SessionRow:
        parsed.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(store_module, "row_from_bytes", counting)
    listing = store.list(limit=20)
    assert len(listing.rows) == 20
    assert len(parsed) == 20


def test_finding_an_id_and_minting_one_validate_only_files_that_mention_it(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    for i in range(50):
        store.create(make_metadata(f"20260101_0000{i:02d}"))
    parses = store.cache.parses
    assert store.find_by_session_id("train_20260101_000007") is not None
    assert store.find_by_session_id("train_20990101_000000") is None
    store.create(make_metadata("20260101_000007"))  # taken: minted as ..._2
    # The conventional file name is checked first, and files mentioning the id are validated:
    # no full scan of the 50 documents.
    assert store.cache.parses - parses <= 3
    assert store.find_by_session_id("train_20260101_000007_2") is not None


def test_may_mention_reads_bytes_and_is_conservative(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"execution_status": {"status": "running"}}', encoding="utf-8")
    assert store_module.may_mention(path, "running")
    assert not store_module.may_mention(path, "completed")
    # An escape may spell the word: the file must then be validated to know.
    path.write_text('{"execution_status": {"status": "\\u0072unning"}}', encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8"))["execution_status"]["status"] == "running"
    assert store_module.may_mention(path, "running")
    assert not store_module.may_mention(tmp_path / "missing.json", "running")


def _write_corpus(directory: Path, valid: dict[str, object]) -> dict[str, str]:
    """Malformed files and the words their reason must contain."""
    text = json.dumps(valid)
    deep = "[" * 100_000 + "]" * 100_000
    corpus: dict[str, bytes | None] = {
        "truncated.json": text[: len(text) // 2].encode(),
        "wrong_types.json": text.replace('"epochs": 10', '"epochs": "ten"').encode(),
        "missing_sections.json": json.dumps({"training_session": {"timestamp": "x"}}).encode(),
        "empty.json": b"",
        "binary.json": bytes(range(256)) * 4,
        "deep.json": ('{"a": ' + deep + "}").encode(),
        "latin1.json": text.replace("annotated", "annot\u00e9").encode("latin-1"),
        "array.json": b"[1, 2]",
    }
    for name, content in corpus.items():
        (directory / name).write_bytes(content or b"")
    (directory / "x.json").mkdir()
    (directory / "dangling.json").symlink_to(directory / "does-not-exist.json")
    return {
        "truncated.json": "invalid JSON at line",
        "wrong_types.json": "model_config.epochs",
        "missing_sections.json": "invalid field",
        "empty.json": "empty file",
        "binary.json": "not UTF-8",
        "deep.json": "nested too deeply",
        "latin1.json": "not UTF-8",
        "array.json": "expected a JSON object",
        "x.json": "is a directory",
        "dangling.json": "dangling symbolic link",
    }


def test_malformed_files_are_listed_as_unreadable_beside_valid_ones(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    valid_paths = [store.create(make_metadata(f"20260301_00000{i}")) for i in range(3)]
    expected = _write_corpus(store.directory, make_metadata().to_document())
    (store.directory / "notes.txt").write_text("not a candidate")
    (store.directory / ".hidden.json.abcd.tmp").write_text("{")
    listing = store.list(limit=None)
    assert sorted(r.path for r in listing.rows if r.readable) == sorted(valid_paths)
    reasons = {u.path.name: u.error for u in listing.rows if not u.readable}
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
    assert "line 1 column" in reasons["truncated.json"]


def test_oversized_file_is_refused_unread(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_METADATA_BYTES", 100)
    big = store.directory / "big.json"
    big.write_text(json.dumps({"x": "y" * 200}))
    with pytest.raises(MetadataError, match="too large"):
        read_metadata(big)


def test_update_keeps_unknown_keys_and_checks_transitions(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    metadata = make_metadata(status="completed")
    document = metadata.to_document()
    document["collaborator"] = {"kept": True}
    path = store.directory / "collab.json"
    path.write_text(json.dumps(document))

    def to_running(m: TrainingMetadata) -> None:
        m.execution_status.status = "running"

    before = path.read_bytes()
    with pytest.raises(InvalidTransitionError):
        store.update(path, to_running)
    assert path.read_bytes() == before
    store.update(path, lambda m: setattr(m, "notes", "n"))
    assert json.loads(path.read_text())["collaborator"] == {"kept": True}


def test_an_update_keeping_the_mtime_replaces_the_file_with_the_same_mtime(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    path = store.create(make_metadata())
    _set_mtime(path, 1_600_000_000.25)
    before = path.stat()
    store.update(path, lambda m: setattr(m, "notes", "an annotation"), keep_mtime=True)
    after = path.stat()
    assert after.st_mtime_ns == before.st_mtime_ns
    # A new file (atomic replace): caches keyed by stat values see the change.
    assert after.st_ino != before.st_ino
    assert read_metadata(path).notes == "an annotation"
    # Without it (the worker's writes: training activity), the mtime is the write's.
    store.update(path, lambda m: setattr(m, "notes", "another"))
    assert path.stat().st_mtime_ns > before.st_mtime_ns


def test_resolve_by_id_file_path_and_index(
    store: SessionStore, make_metadata: MakeMetadata
) -> None:
    older = store.create(make_metadata("20260101_000001"))
    newer = store.create(make_metadata("20260101_000002"))
    _set_mtime(older, 1_700_000_000)
    _set_mtime(newer, 1_700_000_100)
    assert store.resolve("train_20260101_000001") == older
    assert store.resolve(older.name) == older
    assert store.resolve(str(newer)) == newer.resolve()
    assert store.resolve("1") == newer
    assert store.resolve("2") == older
    with pytest.raises(SessionNotFoundError, match="no session #3"):
        store.resolve("3")
    with pytest.raises(SessionNotFoundError, match="no session matches"):
        store.resolve("train_19990101_000000")


def _append_tags(workspace_root: str, path: str, worker: int, count: int) -> None:
    store = SessionStore(Workspace(Path(workspace_root)))
    for i in range(count):
        tag = f"w{worker}-{i}"

        def add_tag(metadata: TrainingMetadata, tag: str = tag) -> None:
            metadata.tags.append(tag)

        store.update(Path(path), add_tag)


def test_concurrent_updaters_lose_nothing(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata
) -> None:
    path = store.create(make_metadata())
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_tags, args=(str(workspace.root), str(path), w, 25))
        for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    tags = read_metadata(path).tags
    assert len(tags) == 100
    assert len(set(tags)) == 100


WRITER = """
import sys
from pathlib import Path
from engine.store import SessionStore
from engine.workspace import Workspace
store = SessionStore(Workspace(Path(sys.argv[1])))
path = Path(sys.argv[2])
i = 0
print("ready", flush=True)
while True:
    i += 1
    store.update(path, lambda m: setattr(m, "notes", str(i) * (1000 + i % 5000)))
"""


def test_writer_killed_mid_update_always_leaves_a_parseable_file(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata
) -> None:
    path = store.create(make_metadata())
    rng = random.Random(1234)
    for _ in range(25):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(workspace.root), str(path)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        metadata = read_metadata(path)
        assert metadata.session_id.startswith("train_")
    # Leftover temporary files from killed writers are hidden and never listed.
    assert [r.path for r in store.list().rows] == [path]


def _dies(share: object) -> None:
    os._exit(1)  # a reading process killed (out of memory) before it sends its rows


@pytest.mark.parametrize("reader", ["shared", "reader-dies"])
def test_a_large_first_listing_shared_among_processes_gives_the_same_rows(
    workspace: Workspace,
    make_metadata: MakeMetadata,
    monkeypatch: pytest.MonkeyPatch,
    reader: str,
) -> None:
    serial = SessionStore(workspace)
    for i in range(40):
        serial.create(make_metadata(f"20260101_0000{i:02d}", status=("completed", "failed")[i % 2]))
    (serial.directory / "broken.json").write_text('{"training_session": 1}')
    (serial.directory / "truncated.json").write_text('{"training_session": {')
    expected = serial.list(limit=None).rows
    index_path(workspace).unlink()  # a first listing: every file is read
    monkeypatch.setattr(store_module, "PARALLEL_MIN_FILES", 10)
    if reader == "reader-dies":
        monkeypatch.setattr(store_module, "_sent_rows", _dies)
    read_here: list[Path] = []
    original = store_module.read_row

    def counting(path: Path, *args: Any, **kwargs: Any) -> SessionRow:
        read_here.append(path)  # (in this process only: a reading process counts its own)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(store_module, "read_row", counting)
    parallel = SessionStore(workspace, processes=3)
    rows = parallel.list(limit=None).rows
    assert rows == expected
    # Three shares of 14 files: this process read its own, or every file when the others died.
    assert len(read_here) == (14 if reader == "shared" else 42)
    assert {row.error for row in rows if not row.readable} == {
        row.error for row in expected if not row.readable
    }
    assert parallel.cache.parses == len(expected)
    # Read once: a second listing takes every row from the cache.
    assert parallel.list(limit=None).rows == expected
    assert parallel.cache.parses == len(expected)

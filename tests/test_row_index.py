"""The persisted row index: a full listing reads only files that changed since any earlier run.

It is a cache of validated rows keyed by each file's stat values (ctime included), so it must
give exactly what reading every file gives: after edits while no tool ran, after a rewrite that
restored the mtime and size, and whatever the index file itself holds (it is untrusted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.facade import Engine
from engine.filters import parse_filter
from engine.row_index import index_path, load_index
from engine.workspace import Workspace
from tests.fakes import session_metadata

COUNT = 40


def write(workspace: Workspace, index: int, status: str = "completed") -> Path:
    metadata = session_metadata(f"20250101_1200{index:02d}", status=status)
    path = workspace.sessions_dir / f"training_metadata_{index:03d}.json"
    path.write_text(json.dumps(metadata.to_document()), encoding="utf-8")
    os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
    return path


@pytest.fixture
def files(workspace: Workspace) -> list[Path]:
    paths = [write(workspace, index) for index in range(COUNT)]
    (workspace.sessions_dir / "training_metadata_broken.json").write_text("{")
    return paths


def listed(engine: Engine) -> list[tuple[str, int | None, str, str | None]]:
    return [
        (row.path.name, row.index, row.status, row.error) for row in engine.history(limit=None).rows
    ]


def test_a_second_run_reads_only_what_changed(workspace: Workspace, files: list[Path]) -> None:
    first = Engine(workspace)
    listed(first)
    assert first.store.cache.parses == COUNT + 1
    assert index_path(workspace).is_file()

    # A new process: only the file edited since is read, and what it lists is what reading
    # every file gives.
    files[7].write_text(files[7].read_text().replace('"completed"', '"failed"'))
    second = Engine(workspace)
    with_index = listed(second)
    assert second.store.cache.parses == 1
    index_path(workspace).unlink()
    assert with_index == listed(Engine(workspace))
    assert ("training_metadata_007.json", 1, "failed", None) in with_index


def test_a_rewrite_that_restores_mtime_and_size_is_read_again(
    workspace: Workspace, files: list[Path]
) -> None:
    listed(Engine(workspace))
    before = files[3].stat()
    # The same size (two spaces stand for the two letters less), the mtime set back: only the
    # ctime tells.
    files[3].write_text(files[3].read_text().replace('"completed"', '"pending"  '))
    os.utime(files[3], ns=(before.st_atime_ns, before.st_mtime_ns))
    after = files[3].stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    rows = {row.path: row for row in Engine(workspace).history(limit=None).rows}
    assert rows[files[3]].status == "pending"


def test_a_file_annotated_while_no_tool_ran_is_read_again_in_its_place(
    workspace: Workspace, files: list[Path]
) -> None:
    before = listed(Engine(workspace))
    # Tags saved keep the file's mtime (the history's order): its new inode and ctime tell.
    Engine(workspace).save_notes(files[3], tags=["paper"])
    engine = Engine(workspace)
    assert listed(engine) == before
    assert engine.store.cache.parses == 1
    found = engine.history(limit=None, session_filter=parse_filter("tag:paper"))
    assert [row.path for row in found.rows] == [files[3]]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"version": 2, "rows": {}}',
        b'{"version": 1, "rows": []}',
        b'{"version": 2, "rows": [["../x.json", 1, 1, 1, 1, null, "", "", "", "", "", "", "",'
        b" null, null, null, null, null, false]]}",
        b'{"version": 2, "rows": [1]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "garbage", "array", "dict-rows", "other-version", "traversal", "number", "deep"],
)
def test_an_index_that_is_not_ours_is_ignored(
    workspace: Workspace, files: list[Path], content: bytes
) -> None:
    expected = listed(Engine(workspace))
    index_path(workspace).write_bytes(content)
    assert load_index(workspace) == []
    engine = Engine(workspace)
    assert listed(engine) == expected
    assert engine.store.cache.parses == COUNT + 1


def test_an_index_entry_for_a_changed_file_is_never_used(
    workspace: Workspace, files: list[Path]
) -> None:
    listed(Engine(workspace))
    document = json.loads(index_path(workspace).read_text())
    for entry in document["rows"]:
        # A forged index: every session "running" with a best F1 of 1.0, stat values off.
        # (An entry: name, the four stat values, error, session_id, timestamp, date, mode,
        # dataset, model, status, best_f1, ...)
        entry[12], entry[13] = "running", 1.0
        entry[4] += 1
    index_path(workspace).write_text(json.dumps(document))
    rows = Engine(workspace).history(limit=None).rows
    assert {row.status for row in rows if row.readable} == {"completed"}
    assert {row.best_f1 for row in rows} == {None}


def test_an_index_that_is_a_fifo_is_ignored(workspace: Workspace, files: list[Path]) -> None:
    index_path(workspace).parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(index_path(workspace))
    assert load_index(workspace) == []
    assert len(listed(Engine(workspace))) == COUNT + 1


def test_a_search_reads_the_documents_themselves(workspace: Workspace, files: list[Path]) -> None:
    listed(Engine(workspace))
    files[5].write_text(files[5].read_text().replace('"notes": ""', '"notes": "paper draft"'))
    engine = Engine(workspace)
    found = engine.history(limit=None, session_filter=parse_filter("paper"))
    assert [row.path for row in found.rows] == [files[5]]
    assert all(row.metadata is not None for row in found.rows)

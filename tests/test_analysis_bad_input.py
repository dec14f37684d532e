"""Bad input to ``llmtool-tui analyze``: one clear line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest

from engine.analysis import analyze_dataset
from engine.errors import BadInputError
from engine.schema import SplitConfig
from llmtool_tui.cli import main

TEXTS = [
    "The plot was gripping from start to finish",
    "I fell asleep halfway through the movie",
    "Great acting and a wonderful soundtrack",
    "The dialogue felt wooden and forced",
]


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {str(path): (path.stat().st_size, path.stat().st_mtime) for path in root.rglob("*")}


def run_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run analyze inside tmp_path as the workspace; return its one-line error."""
    before = snapshot(tmp_path)
    code = main(["analyze", *args, "--workspace", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("llmtool-tui: error: ")
    assert captured.err.count("\n") == 1, captured.err
    assert snapshot(tmp_path) == before  # writes nothing
    return captured.err


def write_csv(path: Path, columns: Mapping[str, Sequence[object]]) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _keep_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() exports --workspace to the environment for worker processes; undo it after a test.
    monkeypatch.setenv("LLMTOOL_WORKSPACE", os.environ.get("LLMTOOL_WORKSPACE", "."))


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    error = run_failing(tmp_path, capsys, str(tmp_path / "absent.csv"))
    assert "absent.csv does not exist" in error


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder").mkdir()
    assert "is a directory" in run_failing(tmp_path, capsys, str(tmp_path / "folder"))


@pytest.mark.parametrize("content", [b"", b"  \n\n  "])
def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    error = run_failing(tmp_path, capsys, str(path))
    assert "empty" in error or "only blank space" in error


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("header.csv", lambda path: path.write_text("text,label\n")),
        (
            "header.xlsx",
            lambda path: pd.DataFrame(columns=["text", "label"]).to_excel(path, index=False),
        ),
        ("empty.json", lambda path: path.write_text("[]")),
    ],
)
def test_header_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, write: Callable[[Path], object]
) -> None:
    path = tmp_path / name
    write(path)
    assert "no data rows" in run_failing(tmp_path, capsys, str(path))


def test_no_text_like_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "numbers.csv", {"a": [1, 2, 3, 4], "b": [0.5, 1.5, 2.5, 3.5]})
    error = run_failing(tmp_path, capsys, str(path))
    assert "no column looks like free text (columns: a, b)" in error
    assert "--text-column" in error


@pytest.mark.parametrize("option", ["--text-column", "--label-column", "--language-column"])
def test_named_column_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    path = write_csv(tmp_path / "data.csv", {"text": TEXTS, "label": ["a", "b"] * 2})
    error = run_failing(tmp_path, capsys, str(path), option, "missing")
    assert "column 'missing' does not exist; the columns are: text, label" in error


def test_single_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "data.csv", {"text": TEXTS, "label": ["same"] * 4})
    error = run_failing(tmp_path, capsys, str(path), "--label-column", "label")
    assert "only the class 'same'" in error and "at least two classes" in error


def test_rare_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "data.csv", {"text": TEXTS, "label": ["a", "a", "a", "b"]})
    error = run_failing(tmp_path, capsys, str(path), "--label-column", "label")
    assert "'b' (1)" in error and "--drop-rare-classes" in error


def test_binary_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 64)
    assert "looks like binary data" in run_failing(tmp_path, capsys, str(path))


def test_garbage_with_an_excel_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    assert "cannot open data.xlsx as an Excel workbook" in run_failing(tmp_path, capsys, str(path))


def test_50_mb_single_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "line.csv"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(b"a" * (1024 * 1024))
    error = run_failing(tmp_path, capsys, str(path))
    assert "line 1 of line.csv is longer than 10 MB" in error


def test_malformed_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.json"
    path.write_text('[{"text": "a", "label": ')
    assert "cannot read data.json as JSON" in run_failing(tmp_path, capsys, str(path))


@pytest.mark.parametrize(
    "content",
    [
        "text,label\nhello, there,a\nbye now,b,c\n",  # every row one field longer
        "text,label\nhello there,a\nbye, now,b\n",  # one row longer
    ],
)
def test_rows_longer_than_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(content)
    error = run_failing(tmp_path, capsys, str(path))
    assert "cannot read data.csv as CSV" in error


def test_json_that_is_not_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.json"
    path.write_text('["just", "strings"]')
    assert "not an array of records" in run_failing(tmp_path, capsys, str(path))


def test_utf16_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("text,label\nhello there,a\n".encode("utf-16"))
    assert "UTF-16; save it as UTF-8" in run_failing(tmp_path, capsys, str(path))


def test_model_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "data.csv", {"text": TEXTS, "label": ["a", "b"] * 2})
    error = run_failing(tmp_path, capsys, str(path), "--model", str(tmp_path / "no-model"))
    assert "model directory" in error and "does not exist" in error


def test_excel_with_several_sheets_warns_and_accepts_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"text": TEXTS * 2, "label": ["a", "b"] * 4}).to_excel(
            writer, sheet_name="first", index=False
        )
        pd.DataFrame({"review": TEXTS * 2, "stars": ["1", "5"] * 4}).to_excel(
            writer, sheet_name="second", index=False
        )
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 sheets (first, second); read the first" in " ".join(out.split())
    assert main(["analyze", str(path), "--sheet", "second", "--json"]) == 0
    captured = capsys.readouterr()
    assert '"sheet": "second"' in captured.out
    assert '"text_column": "review"' in captured.out
    assert "sheets" not in captured.err
    error = run_failing(tmp_path, capsys, str(path), "--sheet", "third")
    assert "no sheet 'third'; its sheets are: first, second" in error


def test_impossible_split_is_an_error_only_when_asked_for(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv", {"text": TEXTS, "label": ["a", "b"] * 2})
    analysis = analyze_dataset(path)  # default 80/20 of 4 rows: 1 validation row, 2 classes
    assert analysis.dataset_config.split.train_size is None
    assert any("default split is not possible" in w for w in analysis.warnings)
    with pytest.raises(BadInputError, match="too few to hold one example of each"):
        analyze_dataset(path, split=SplitConfig(validation_ratio=0.2))
    sized = analyze_dataset(path, split=SplitConfig(validation_ratio=0.5)).dataset_config.split
    assert (sized.train_size, sized.validation_size) == (2, 2)

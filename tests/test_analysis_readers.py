"""Readers: every format by extension, content sniffing when the extension lies, encodings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from engine.analysis.readers import ReadOptions, read_table
from engine.errors import BadInputError

ROWS = [
    {"text": "Le film était vraiment très bon", "label": "pos"},
    {"text": "Quel ennui, je me suis endormi", "label": "neg"},
    {"text": "Une merveille du début à la fin", "label": "pos"},
]


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    table = read_table(path)
    assert table.format == "csv"
    assert table.encoding == "utf-8"
    assert table.frame.to_dict(orient="records") == ROWS
    assert table.warnings == []


def test_csv_keeps_cells_as_written(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text('text,label\nhello there,007\n"NA",1.0\n', encoding="utf-8")
    table = read_table(path)
    assert list(table.frame["label"]) == ["007", "1.0"]
    assert list(table.frame["text"]) == ["hello there", "NA"]


def test_semicolon_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False, sep=";")
    table = read_table(path)
    assert table.format == "csv"
    assert list(table.frame.columns) == ["text", "label"]


def test_tsv_and_csv_content_in_tsv_file(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    frame().to_csv(path, index=False, sep="\t")
    assert read_table(path).format == "tsv"
    # The delimiter decides within delimited text, silently: a .csv holding tabs is a TSV.
    other = tmp_path / "tabs.csv"
    frame().to_csv(other, index=False, sep="\t")
    table = read_table(other)
    assert table.format == "tsv"
    assert table.frame.to_dict(orient="records") == ROWS


def test_tsv_with_raw_quotes_keeps_every_line(tmp_path: Path) -> None:
    # Unquoted TSV with raw double quotes (as in the SMS spam corpus): CSV quoting would merge
    # the lines between two quotes into one cell.
    path = tmp_path / "sms"
    path.write_text(
        'label\tsms\nham\t"Hello" he said\nspam\tWin a "prize now\nham\tsee you" later\n',
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.format == "tsv"
    assert list(table.frame["sms"]) == ['"Hello" he said', 'Win a "prize now', 'see you" later']


def test_quoted_tsv_written_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    rows = [{"text": 'she said "hi"\tand left', "label": "a"}, {"text": "plain", "label": "b"}]
    pd.DataFrame(rows).to_csv(path, index=False, sep="\t")
    assert read_table(path).frame.to_dict(orient="records") == rows


def test_json_array_of_records(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(ROWS, ensure_ascii=False), encoding="utf-8")
    table = read_table(path)
    assert table.format == "json"
    assert table.frame.to_dict(orient="records") == ROWS


def test_json_keeps_list_labels(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"text": "a b", "labels": ["x", "y"]}]), encoding="utf-8")
    assert list(read_table(path).frame["labels"][0]) == ["x", "y"]


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(
        "\n".join(json.dumps(row, ensure_ascii=False) for row in ROWS) + "\n", encoding="utf-8"
    )
    table = read_table(path)
    assert table.format == "jsonl"
    assert table.frame.to_dict(orient="records") == ROWS


def test_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    frame().to_excel(path, index=False)
    table = read_table(path)
    assert table.format == "xlsx"
    assert table.sheet == "Sheet1"
    assert table.encoding is None
    assert table.frame.to_dict(orient="records") == ROWS


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    frame().to_parquet(path)
    table = read_table(path)
    assert table.format == "parquet"
    assert table.frame.to_dict(orient="records") == ROWS


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda df, path: df.to_json(path, orient="records", lines=True), "jsonl"),
        (lambda df, path: df.to_json(path, orient="records"), "json"),
        (lambda df, path: df.to_parquet(path), "parquet"),
        (lambda df, path: df.to_excel(path, index=False), "xlsx"),
    ],
)
def test_content_sniff_when_the_extension_lies(
    tmp_path: Path, write: Callable[[pd.DataFrame, Path], object], expected: str
) -> None:
    path = tmp_path / "data.csv"
    write(frame(), path)
    table = read_table(path)
    assert table.format == expected
    assert table.frame.to_dict(orient="records") == ROWS
    assert any("extension" in warning and expected.upper() in warning for warning in table.warnings)


def test_unknown_extension_is_sniffed_without_warning(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    frame().to_csv(path, index=False)
    table = read_table(path)
    assert (table.format, table.warnings) == ("csv", [])


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False, encoding="utf-8-sig")
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["text", "label"]  # no BOM glued to the first name
    assert table.warnings == []


def test_latin1_fallback_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("text,label\ncafé crème très bon,pos\nà éviter,neg\n".encode("latin-1"))
    table = read_table(path)
    assert table.encoding in ("cp1252", "latin-1")
    assert list(table.frame["text"]) == ["café crème très bon", "à éviter"]
    assert len(table.warnings) == 1
    assert "not valid UTF-8" in table.warnings[0]


def test_windows_1252_quotes(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("text,label\n\u201cgreat\u201d film,pos\nbad one,neg\n".encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.frame["text"][0] == "\u201cgreat\u201d film"


def test_excel_with_several_sheets_reads_the_first_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        frame().to_excel(writer, sheet_name="train", index=False)
        pd.DataFrame([{"other": 1}]).to_excel(writer, sheet_name="notes", index=False)
    table = read_table(path)
    assert table.sheet == "train"
    assert table.frame.to_dict(orient="records") == ROWS
    assert any("2 sheets" in warning and "--sheet" in warning for warning in table.warnings)
    chosen = read_table(path, ReadOptions(sheet="notes"))
    assert (chosen.sheet, chosen.warnings, list(chosen.frame.columns)) == ("notes", [], ["other"])
    with pytest.raises(BadInputError, match=r"no sheet 'missing'.*train, notes"):
        read_table(path, ReadOptions(sheet="missing"))


def test_sheet_on_a_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    with pytest.raises(BadInputError, match="--sheet applies to Excel"):
        read_table(path, ReadOptions(sheet="Sheet1"))

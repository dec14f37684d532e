"""Datasets as researchers have them: headerless tables, label delimiters, line formats, encodings.

Each layout is generated from the sample data's rows (texts in English and French, four topics,
one or two per text) and analysed; the same files are re-read as a session records them
(``load_examples``), and trained on through ``train`` in tests/test_training_cli.py.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from engine.analysis import analyze_dataset
from engine.analysis.header import decide_header
from engine.analysis.prepare import load_examples, read_options_of
from engine.analysis.readers import ReadOptions, read_table
from engine.errors import BadInputError
from engine.schema import DatasetConfig
from engine.sessions.sample_data import generate_rows

ROWS = generate_rows(120, seed=11)
TOPICS = ["health", "politics", "sports", "technology"]


def topics(row: dict[str, str], joiner: str) -> str:
    return joiner.join(row["topics"].split(";"))


def write_headerless_tsv(path: Path) -> Path:
    """GoEmotions' layout: text, comma-separated label ids, an id; no header."""
    ids = {topic: str(position) for position, topic in enumerate(TOPICS)}
    lines = [
        f"{row['text']}\t{','.join(ids[t] for t in row['topics'].split(';'))}\tid{n:05d}\n"
        for n, row in enumerate(ROWS)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str] | None, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def analyze(path: Path, **options: object) -> tuple[DatasetConfig, list[str]]:
    analysis = analyze_dataset(path, **options)  # type: ignore[arg-type]
    return analysis.dataset_config, analysis.warnings


# -- headers -----------------------------------------------------------------------------------


def test_a_headerless_tsv_keeps_its_first_row_and_names_its_columns(tmp_path: Path) -> None:
    config, warnings = analyze(write_headerless_tsv(tmp_path / "goemotions.tsv"))
    assert (config.format, config.header, config.delimiter) == ("tsv", False, "\t")
    assert (config.text_column, config.label_column) == ("column_1", "column_2")
    assert (config.label_layout, config.label_delimiter) == ("list-column", ",")
    assert config.strategy == "multi-label" and config.labels == ["0", "1", "2", "3"]
    assert config.rows_read == len(ROWS)  # the first row is data, not lost
    said = next(warning for warning in warnings if warning.startswith("no header row"))
    assert "column_1, column_2, column_3" in said and "--header" in said


def test_a_first_row_that_looks_like_a_header_but_is_data(tmp_path: Path) -> None:
    # Short cells, a single word then a label: the shape of a header; the label gives it away.
    rows = [["Amazing", "pos"]] + [[row["text"], row["label"]] for row in ROWS]
    rows[1][1] = "pos"
    path = write_csv(tmp_path / "reviews.csv", None, rows)
    table = read_table(path)
    assert table.header is False
    assert table.header_reason == "'pos' is one of the values of column 2"
    assert table.frame.iloc[0].tolist() == ["Amazing", "pos"]
    assert len(table.frame) == len(rows)


def test_a_real_header_is_kept(tmp_path: Path) -> None:
    rows = [[row["text"], row["label"]] for row in ROWS]
    table = read_table(write_csv(tmp_path / "data.csv", ["text", "label"], rows))
    assert table.header is True and list(table.frame.columns) == ["text", "label"]
    assert len(table.frame) == len(rows)


@pytest.mark.parametrize("header", [True, False])
def test_header_options_decide(tmp_path: Path, header: bool) -> None:
    path = write_headerless_tsv(tmp_path / "data.tsv")
    table = read_table(path, ReadOptions(header=header))
    assert table.header is header and table.header_reason == "given"
    assert len(table.frame) == len(ROWS) - (1 if header else 0)


@pytest.mark.parametrize(
    ("rows", "header"),
    [
        ([["id", "score"], ["1", "0.5"], ["2", "0.7"], ["3", "0.1"]], True),
        ([["7", "0.3"], ["1", "0.5"], ["2", "0.7"], ["3", "0.1"]], False),
        ([["text", "label"], ["a long sentence about things", "x"]], True),
        ([["only row", "x"]], True),
    ],
)
def test_header_votes(rows: list[list[object]], header: bool) -> None:
    sample = "\n".join(",".join(str(cell) for cell in row) for row in rows)
    assert decide_header(rows, sample).header is header


# -- label delimiters --------------------------------------------------------------------------


@pytest.mark.parametrize("joiner", ["_", "|", ";", "+", " "])
def test_labels_joined_by_a_delimiter_are_multi_label(tmp_path: Path, joiner: str) -> None:
    rows = [[row["text"], topics(row, joiner)] for row in ROWS]
    path = write_csv(tmp_path / "data.csv", ["tweet", "sentiment"], rows)
    config, _ = analyze(path)
    assert (config.label_layout, config.label_delimiter) == ("list-column", joiner)
    assert config.strategy == "multi-label" and config.labels == TOPICS


def test_many_rare_combinations_of_few_parts_are_split(tmp_path: Path) -> None:
    emotions = ["fearful", "abusive", "hateful", "offensive", "disrespectful", "normal"]
    # Two or three emotions in any order, never one alone: 150 values, most seen once or twice.
    joined = ["_".join(p) for size in (2, 3) for p in itertools.permutations(emotions, size)]
    rows = [
        [f"{row['text']} {n}", joined[(n * 37) % len(joined)]] for n, row in enumerate(ROWS * 2)
    ]
    assert sum(1 for count in Counter(row[1] for row in rows).values() if count <= 2) > 100
    config, _ = analyze(write_csv(tmp_path / "mlma.csv", ["tweet", "sentiment"], rows))
    assert config.label_delimiter == "_" and config.labels == sorted(emotions)


def test_underscores_inside_single_labels_are_not_split(tmp_path: Path) -> None:
    grades = ["positive", "negative", "very_positive", "very_negative"]
    rows = [[row["text"], grades[n % 4]] for n, row in enumerate(ROWS)]
    config, _ = analyze(write_csv(tmp_path / "data.csv", ["text", "sentiment"], rows))
    assert (config.label_layout, config.strategy) == ("single-column", "single-label")
    assert sorted(config.labels) == sorted(grades)


def test_the_label_delimiter_option_decides(tmp_path: Path) -> None:
    grades = ["positive", "negative", "very_positive", "very_negative"]
    rows = [[row["text"], grades[n % 4]] for n, row in enumerate(ROWS)]
    path = write_csv(tmp_path / "data.csv", ["text", "sentiment"], rows)
    config, _ = analyze(path, label_delimiter="_")
    assert config.label_delimiter == "_" and config.strategy == "multi-label"
    assert config.labels == ["negative", "positive", "very"]


def test_rare_combinations_suggest_the_label_delimiter(tmp_path: Path) -> None:
    rows = [[row["text"], f"{row['label']}/{n % 7}"] for n, row in enumerate(ROWS[:30])]
    rows += [[ROWS[0]["text"] + " again", "unique/once"]]
    path = write_csv(tmp_path / "data.csv", ["text", "label"], rows)
    with pytest.raises(BadInputError, match="--label-delimiter D if a cell holds several labels"):
        analyze(path)


# -- line formats ------------------------------------------------------------------------------


def test_fasttext_lines_with_several_labels(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(
        "".join(
            " ".join(f"__label__{t}" for t in row["topics"].split(";")) + f" {row['text']}\n"
            for row in ROWS
        ),
        encoding="utf-8",
    )
    config, _ = analyze(path)
    assert (config.format, config.text_column, config.label_column) == ("fasttext", "text", "label")
    assert config.strategy == "multi-label" and config.labels == TOPICS
    assert config.rows_read == len(ROWS)


def test_fasttext_lines_with_one_label(tmp_path: Path) -> None:
    path = tmp_path / "train.ft"
    path.write_text("".join(f"__label__{row['label']} {row['text']}\n" for row in ROWS))
    config, _ = analyze(path)
    assert (config.format, config.strategy, config.labels) == ("fasttext", "single-label", TOPICS)


def test_label_then_text_lines(tmp_path: Path) -> None:
    path = tmp_path / "trec.txt"
    path.write_text("".join(f"{row['label'].upper()} {row['text']}\n" for row in ROWS))
    config, _ = analyze(path)
    assert (config.format, config.text_column, config.label_column) == (
        "labelled-lines",
        "text",
        "label",
    )
    assert config.labels == [topic.upper() for topic in TOPICS]
    examples = load_examples(config)
    assert examples.texts[0] == ROWS[0]["text"]


def test_a_txt_in_no_layout_says_which_were_tried(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    # Free sentences: their first words are as varied as the rest.
    words = [f"word{(n * 7 + k * 13) % 997}" for n in range(len(ROWS)) for k in range(8)]
    path.write_text("".join(" ".join(words[n * 8 : n * 8 + 8]) + "\n" for n in range(len(ROWS))))
    with pytest.raises(BadInputError) as raised:
        analyze(path)
    message = str(raised.value)
    assert "no column looks like labels" in message
    assert "also tried format: fasttext, format: labelled-lines" in message
    assert "\n" not in message


# -- label columns by values -------------------------------------------------------------------


def test_a_two_valued_column_is_the_label_whatever_its_name(tmp_path: Path) -> None:
    rows = [[row["text"], str(n % 2)] for n, row in enumerate(ROWS)]
    config, _ = analyze(write_csv(tmp_path / "data.csv", ["review", "verdict"], rows))
    assert (config.text_column, config.label_column, config.labels) == (
        "review",
        "verdict",
        ["0", "1"],
    )


def test_polarity_is_a_label_name_and_the_choice_is_explained(tmp_path: Path) -> None:
    rows = [[row["text"], str(n % 2), row["language"]] for n, row in enumerate(ROWS)]
    rows = [[text, polarity, f"g{n % 3}"] for n, (text, polarity, _) in enumerate(rows)]
    config, warnings = analyze(
        write_csv(tmp_path / "data.csv", ["review", "polarity", "group"], rows)
    )
    assert config.label_column == "polarity"
    assert any(
        "used 'polarity' as the label column (its name)" in w and "'group'" in w for w in warnings
    )


# -- encodings and options ---------------------------------------------------------------------


def test_latin1_is_reported_recorded_and_read_again_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    rows = [[row["text"], row["label"]] for row in ROWS if row["language"] == "FR"]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["texte", "label"], *rows])
    path.write_bytes(buffer.getvalue().encode("latin-1"))
    config, warnings = analyze(path)
    assert config.encoding == "cp1252"
    assert any("not valid UTF-8" in warning and "cp1252" in warning for warning in warnings)
    assert read_options_of(config).encoding == "cp1252"
    assert load_examples(config).texts == [text for text, _ in rows]


def test_encoding_and_delimiter_options(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    rows = [f"{row['text']}#{row['label']}" for row in ROWS]
    path.write_bytes(("text#label\n" + "\n".join(rows) + "\n").encode("latin-1"))
    config, _ = analyze(path, read=ReadOptions(delimiter="#", encoding="latin-1"))
    assert (config.delimiter, config.encoding, config.format) == ("#", "latin-1", "csv")
    assert load_examples(config).texts[0] == ROWS[0]["text"]
    with pytest.raises(BadInputError, match="is not valid ascii"):
        read_table(path, ReadOptions(encoding="ascii"))


def test_recorded_reading_choices_are_honoured(tmp_path: Path) -> None:
    config, _ = analyze(write_headerless_tsv(tmp_path / "data.tsv"))
    assert read_options_of(config) == ReadOptions(
        header=False, delimiter="\t", encoding="utf-8", format="tsv"
    )
    assert len(load_examples(config).texts) == len(ROWS)
    # A session recorded before headers were detected was read with one.
    older = config.model_copy(update={"header": None})
    assert read_options_of(older).header is True
    # The original tool's format names say nothing about the file: detected again.
    assert read_options_of(config.model_copy(update={"format": "llm-json"})).format is None


def test_the_original_tools_multi_label_session_is_read_as_lists(tmp_path: Path) -> None:
    rows = [[row["text"], topics(row, "_")] for row in ROWS[:40]]
    path = write_csv(tmp_path / "data.csv", ["text", "sentiment"], rows)
    document = {
        "primary_file": str(path),
        "format": "llm-json",
        "strategy": "multi-label",
        "text_column": "text",
        "label_column": "sentiment",
    }
    examples = load_examples(DatasetConfig.model_validate(json.loads(json.dumps(document))))
    assert examples.multi_label
    assert sorted(examples.label_names) == sorted({t for row in rows for t in row[1].split("_")})

"""Text and label column detection, label layouts, cleaning and load_examples."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest

from engine.analysis import analyze_dataset, load_examples
from engine.analysis.columns import (
    INDICATOR_COLUMNS,
    LIST_COLUMN,
    SINGLE_COLUMN,
    choose_columns,
    parse_labels,
)
from engine.errors import BadInputError

TEXTS = [
    "The plot was gripping from start to finish",
    "I fell asleep halfway through the movie",
    "Great acting and a wonderful soundtrack",
    "The dialogue felt wooden and forced",
    "A charming story for the whole family",
    "Too long, too slow and too predictable",
]


def test_text_column_is_the_longest_free_text() -> None:
    frame = pd.DataFrame(
        {
            "id": [f"doc-{i:04d}" for i in range(6)],
            "title": ["Nice film", "Boring", "Good one", "Meh", "Lovely", "Slow"],
            "review": TEXTS,
            "label": ["pos", "neg", "pos", "neg", "pos", "neg"],
        }
    )
    choice = choose_columns(frame)
    assert choice.text_column == "review"
    assert choice.labels.layout == SINGLE_COLUMN
    assert choice.labels.columns == ("label",)


def test_unspaced_text_column_is_found() -> None:
    frame = pd.DataFrame(
        {
            "code": ["A1", "B2", "A1", "B2"],
            "内容": [
                "今日はとても良い天気ですね本当に",
                "この映画は退屈で長すぎました",
                "素晴らしい演技と音楽でした",
                "二度と行きたくないお店です",
            ],
            "y": ["pos", "neg", "pos", "neg"],
        }
    )
    assert choose_columns(frame).text_column == "内容"


def test_categorical_label_without_a_label_name() -> None:
    frame = pd.DataFrame({"comment": TEXTS, "verdict": ["good", "bad"] * 3})
    choice = choose_columns(frame)
    assert (choice.text_column, choice.labels.columns) == ("comment", ("verdict",))


def test_several_candidates_warn_and_take_the_rightmost() -> None:
    frame = pd.DataFrame(
        {
            "source": ["web", "app"] * 3,
            "comment": TEXTS,
            "verdict": ["good", "bad", "bad", "good", "good", "bad"],
        }
    )
    choice = choose_columns(frame)
    assert choice.labels.columns == ("verdict",)
    assert any("'source'" in warning and "--label-column" in warning for warning in choice.warnings)


def test_list_column_of_real_lists() -> None:
    frame = pd.DataFrame({"text": TEXTS[:3], "labels": [["a", "b"], ["b"], []]})
    choice = choose_columns(frame)
    assert choice.labels.layout == LIST_COLUMN
    assert parse_labels(frame, choice.labels) == [["a", "b"], ["b"], []]


@pytest.mark.parametrize(
    "cells",
    [
        ['["a", "b"]', '["b"]', '["a"]'],
        ["['a', 'b']", "['b']", "['a']"],  # what pandas writes for a list cell
    ],
)
def test_list_column_of_json_arrays(cells: list[str]) -> None:
    frame = pd.DataFrame({"text": TEXTS[:3], "tags": cells})
    choice = choose_columns(frame)
    assert (choice.labels.layout, choice.labels.delimiter) == (LIST_COLUMN, None)
    assert parse_labels(frame, choice.labels) == [["a", "b"], ["b"], ["a"]]


@pytest.mark.parametrize("delimiter", [";", "|", ","])
def test_delimited_labels(delimiter: str) -> None:
    cells = [
        f"sport{delimiter}politics",
        "sport",
        "politics",
        f"politics{delimiter} economy",
        "economy",
        "sport",
    ]
    frame = pd.DataFrame({"text": TEXTS, "topics": cells})
    spec = choose_columns(frame).labels
    assert (spec.layout, spec.delimiter) == (LIST_COLUMN, delimiter)
    assert parse_labels(frame, spec)[:4] == [
        ["sport", "politics"],
        ["sport"],
        ["politics"],
        ["politics", "economy"],
    ]


def test_single_labels_containing_a_comma_stay_single() -> None:
    frame = pd.DataFrame({"text": TEXTS, "label": ["good, really", "bad"] * 3})
    assert choose_columns(frame).labels.layout == SINGLE_COLUMN


def test_indicator_columns() -> None:
    frame = pd.DataFrame(
        {
            "text": TEXTS,
            "toxic": [1, 0, 0, 1, 0, 0],
            "insult": ["1.0", "0.0", "1", "0", "0", "0"],
            "threat": [True, False, False, False, True, False],
        }
    )
    spec = choose_columns(frame).labels
    assert (spec.layout, spec.columns) == (INDICATOR_COLUMNS, ("toxic", "insult", "threat"))
    assert parse_labels(frame, spec)[:2] == [["toxic", "insult", "threat"], []]


def test_explicit_columns_and_binary_label() -> None:
    frame = pd.DataFrame({"a": TEXTS, "b": TEXTS[::-1], "spam": [0, 1] * 3})
    choice = choose_columns(frame, text_column="b", label_columns=["spam"])
    assert choice.text_column == "b"
    assert (choice.labels.layout, choice.labels.columns) == (SINGLE_COLUMN, ("spam",))
    assert parse_labels(frame, choice.labels)[:2] == [["0"], ["1"]]


def test_several_named_label_columns_must_be_indicators() -> None:
    frame = pd.DataFrame({"text": TEXTS, "x": [0, 1] * 3, "y": ["a", "b"] * 3})
    with pytest.raises(BadInputError, match="'y' holds values such as 'a', 'b'"):
        choose_columns(frame, label_columns=["x", "y"])


def test_language_column_by_name_is_not_a_label() -> None:
    frame = pd.DataFrame({"text": TEXTS, "lang": ["en", "fr"] * 3, "label": ["p", "n"] * 3})
    choice = choose_columns(frame)
    assert choice.language_column == "lang"
    assert choice.labels.columns == ("label",)


def _write(tmp_path: Path, rows: Sequence[Mapping[str, object]], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_cleaning_counts_drops_and_duplicates(tmp_path: Path) -> None:
    rows: list[dict[str, str | None]] = [
        {"text": text, "label": "pos" if i % 2 else "neg"} for i, text in enumerate(TEXTS)
    ]
    rows += [
        {"text": "   ", "label": "pos"},
        {"text": None, "label": "neg"},
        {"text": "No label for this one", "label": None},
        {"text": "Empty label too", "label": ""},
        {"text": TEXTS[0], "label": "neg"},  # duplicate, same label
        {"text": TEXTS[1], "label": "neg"},  # duplicate, different label
    ]
    analysis = analyze_dataset(_write(tmp_path, rows))
    config = analysis.dataset_config
    assert config.rows_read == 12
    assert config.rows_dropped == {"empty text": 2, "missing label": 2}
    assert config.total_samples == 8
    assert config.duplicates == 2
    assert config.category_distribution == {"neg": 5, "pos": 3}
    assert any("1 duplicated texts carry different labels" in w for w in config.warnings)


def test_rare_class_is_an_error_naming_it_unless_dropped(tmp_path: Path) -> None:
    rows = [{"text": text, "label": "pos" if i % 2 else "neg"} for i, text in enumerate(TEXTS)]
    rows += [
        {"text": "A lone example of a rare class", "label": "rare"},
        {"text": "Another singleton example here", "label": "odd"},
    ]
    path = _write(tmp_path, rows)
    with pytest.raises(
        BadInputError, match=r"'odd' \(1\), 'rare' \(1\).*--drop-rare-classes"
    ) as raised:
        analyze_dataset(path)
    # The app words the fix with its own controls, not the command's flags.
    in_app = raised.value.in_app()
    assert "tick “Drop classes with fewer than 2 examples”" in in_app and "--" not in in_app
    config = analyze_dataset(path, drop_rare_classes=True).dataset_config
    assert config.dropped_rare_classes == ["odd", "rare"]
    assert config.rows_dropped == {"rare class": 2}
    assert config.labels == ["neg", "pos"]
    examples = load_examples(config)
    assert len(examples.texts) == 6
    assert examples.label_names == ["neg", "pos"]


def test_multi_label_rare_label_is_removed_from_rows(tmp_path: Path) -> None:
    rows = [
        {"text": text, "labels": labels}
        for text, labels in zip(
            TEXTS, [["a"], ["b"], ["a", "b"], ["a", "z"], ["b"], ["a"]], strict=True
        )
    ]
    path = _write(tmp_path, rows)
    config = analyze_dataset(path, drop_rare_classes=True).dataset_config
    assert (config.strategy, config.labels, config.dropped_rare_classes) == (
        "multi-label",
        ["a", "b"],
        ["z"],
    )
    assert config.total_samples == 6
    assert load_examples(config).targets == [[0], [1], [0, 1], [0], [1], [0]]


def test_numeric_labels_are_ordered_numerically(tmp_path: Path) -> None:
    rows = [
        {"text": text, "label": label}
        for text, label in zip(TEXTS * 2, [10, 2, 1, 10, 2, 1, 10, 2, 1, 10, 2, 1], strict=True)
    ]
    config = analyze_dataset(_write(tmp_path, rows)).dataset_config
    assert config.labels == ["1", "2", "10"]


@pytest.mark.parametrize("layout", ["single", "delimited", "indicators"])
def test_load_examples_reproduces_the_analysis(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "data.csv"
    texts = TEXTS * 2 + ["", "  "]
    if layout == "single":
        frame = pd.DataFrame({"text": texts, "label": ["b", "a", "c", "a"] * 3 + ["a", "b"]})
    elif layout == "delimited":
        frame = pd.DataFrame({"text": texts, "label": ["b;a", "a", "c", "a;c"] * 3 + ["a", "b"]})
    else:
        frame = pd.DataFrame(
            {"text": texts, "x": [1, 0, 1, 1] * 3 + [1, 0], "w": [0, 1, 1, 0] * 3 + [1, 1]}
        )
    frame.to_csv(path, index=False)
    config = analyze_dataset(path).dataset_config
    examples = load_examples(config)
    assert examples.label_names == config.labels
    assert len(examples.texts) == config.total_samples == 12
    assert examples.multi_label == (config.strategy == "multi-label")
    counted = {
        name: sum(index in row for row in examples.targets)
        for index, name in enumerate(examples.label_names)
    }
    assert counted == config.category_distribution
    assert load_examples(config) == examples  # deterministic
    if layout == "indicators":
        assert config.labels == ["x", "w"]  # file order
    if layout == "single":
        assert all(len(row) == 1 for row in examples.targets)


def test_load_examples_with_language_column(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame(
        {
            "text": TEXTS,
            "label": ["p", "n"] * 3,
            "language": ["fr-FR", "French", "EN", "english", "", "de"],
        }
    ).to_csv(path, index=False)
    analysis = analyze_dataset(path)
    assert analysis.language_config.detection_method == "column:language"
    assert load_examples(analysis.dataset_config).languages == [
        "FR",
        "FR",
        "EN",
        "EN",
        "UNKNOWN",
        "DE",
    ]


def test_load_examples_detects_languages_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"text": TEXTS, "label": ["p", "n"] * 3}).to_csv(path, index=False)
    config = analyze_dataset(path).dataset_config
    assert load_examples(config).languages is None
    assert load_examples(config, detect_language=True).languages == ["EN"] * 6


def test_load_examples_refuses_changed_data(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"text": TEXTS, "label": ["p", "n"] * 3}).to_csv(path, index=False)
    config = analyze_dataset(path).dataset_config
    pd.DataFrame({"text": TEXTS, "label": ["p", "n", "new"] * 2}).to_csv(path, index=False)
    with pytest.raises(BadInputError, match=r"label 'new'.*analyse it again"):
        load_examples(config)
    pd.DataFrame({"body": TEXTS, "label": ["p", "n"] * 3}).to_csv(path, index=False)
    with pytest.raises(BadInputError, match=r"column 'text' does not exist.*body, label"):
        load_examples(config)
    path.unlink()
    with pytest.raises(BadInputError, match="does not exist"):
        load_examples(config)

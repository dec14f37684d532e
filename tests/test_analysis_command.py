"""The ``llmtool-tui analyze`` command: readable summary and ``--json`` sections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.schema import DatasetConfig, LanguageConfig, TextAnalysis, TrainingMetadata
from llmtool_tui.cli import main
from tests.test_analysis_tokens import build_tokenizer

REVIEWS = [
    "The plot was gripping from start to finish",
    "I fell asleep halfway through the movie",
    "Great acting and a wonderful soundtrack",
    "The dialogue felt wooden and forced",
    "A charming story for the whole family",
    "Too long, too slow and too predictable",
    "The best film I have seen this year",
    "A waste of two hours of my life",
]


def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"id": range(8), "review": REVIEWS, "sentiment": ["pos", "neg"] * 4}).to_csv(
        path, index=False
    )
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, object]]:
    assert main(["analyze", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_is_exactly_the_three_sections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = dataset(tmp_path)
    sections = run_json(capsys, str(path))
    assert list(sections) == ["dataset_config", "language_config", "text_analysis"]
    dataset_config = DatasetConfig.model_validate(sections["dataset_config"])
    assert dataset_config.primary_file == str(path.resolve())
    assert (dataset_config.format, dataset_config.encoding) == ("csv", "utf-8")
    assert (dataset_config.text_column, dataset_config.label_column) == ("review", "sentiment")
    assert dataset_config.strategy == "single-label"
    assert dataset_config.num_categories == 2
    assert dataset_config.category_distribution == {"neg": 4, "pos": 4}
    assert dataset_config.fingerprint is not None
    assert dataset_config.fingerprint.size_bytes == path.stat().st_size
    assert dataset_config.fingerprint.rows == 8
    assert (dataset_config.split.train_size, dataset_config.split.validation_size) == (6, 2)
    language_config = LanguageConfig.model_validate(sections["language_config"])
    assert language_config.confirmed_languages == ["EN"]
    text_analysis = TextAnalysis.model_validate(sections["text_analysis"])
    assert text_analysis.exact is False  # no English model is cached on a test machine
    assert text_analysis.text_length_stats.token_max > 0
    # The sections are what a metadata document holds: they validate as one.
    document = {
        "training_session": {"timestamp": "20260101_120000"},
        **sections,
        "model_config": {"selected_model": "roberta-base"},
    }
    assert TrainingMetadata.from_document(document).dataset_config == dataset_config


def test_readable_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping inside table cells
    assert main(["analyze", str(dataset(tmp_path))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Text column review" in out
    assert "sentiment (single-column): single-label, 2 classes" in out
    assert "roberta-base" in out
    assert "no (needs a download)" in out
    assert "approximation" in out


def test_model_directory_gives_exact_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokenizer = build_tokenizer(tmp_path / "tiny-model")
    sections = run_json(capsys, str(dataset(tmp_path)), "--model", str(tokenizer))
    text_analysis = sections["text_analysis"]
    assert text_analysis["exact"] is True
    assert text_analysis["tokenizer"] == str(tokenizer)


def test_explicit_columns_and_indicator_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "multi.jsonl"
    rows = [
        {"body": text, "title": text[:10], "action": i % 2, "drama": (i // 2) % 2, "lang": "en"}
        for i, text in enumerate(REVIEWS)
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    sections = run_json(
        capsys,
        str(path),
        "--text-column",
        "body",
        "--label-column",
        "action",
        "drama",
        "--language-column",
        "lang",
    )
    config = sections["dataset_config"]
    assert config["format"] == "jsonl"
    assert config["strategy"] == "multi-label"
    assert config["label_layout"] == "indicator-columns"
    assert config["label_columns"] == ["action", "drama"]
    assert config["labels"] == ["action", "drama"]
    assert config["category_distribution"] == {"action": 4, "drama": 4}
    assert sections["language_config"]["detection_method"] == "column:lang"


def test_drop_rare_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rare.csv"
    pd.DataFrame({"text": REVIEWS, "label": ["a", "b"] * 3 + ["c", "a"]}).to_csv(path, index=False)
    assert main(["analyze", str(path)]) == 2
    assert "'c' (1)" in capsys.readouterr().err
    config = run_json(capsys, str(path), "--drop-rare-classes")["dataset_config"]
    assert config["dropped_rare_classes"] == ["c"]
    assert config["labels"] == ["a", "b"]
    assert config["total_samples"] == 7


def test_warnings_go_to_stderr_with_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin.csv"
    pd.DataFrame({"text": [f"{text} café" for text in REVIEWS], "label": ["a", "b"] * 4}).to_csv(
        path, index=False, encoding="latin-1"
    )
    assert main(["analyze", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["dataset_config"]["encoding"] == "cp1252"
    assert "warning: latin.csv is not valid UTF-8" in captured.err


def test_analysis_imports_neither_ui_nor_torch(tmp_path: Path) -> None:
    """engine.analysis imports no UI library, and torch/transformers only for a model's tokenizer.

    Running an analysis may load rich all the same: scikit-learn 1.9 imports it for its progress
    bars when it is installed, which the split needs. The engine's own modules do not.
    """
    modules = ("textual", "rich", "torch", "transformers")
    without_rich = ("textual", "torch", "transformers")
    script = (
        "import sys, pkgutil, importlib, engine.analysis\n"
        "for info in pkgutil.iter_modules(engine.analysis.__path__):\n"
        "    importlib.import_module('engine.analysis.' + info.name)\n"
        f"print(sorted(m for m in {modules!r} if m in sys.modules))\n"
        f"engine.analysis.analyze_dataset({str(dataset(tmp_path))!r})\n"
        f"print(sorted(m for m in {without_rich!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.stdout.split() == ["[]", "[]"]

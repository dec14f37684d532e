"""Language detection on known sentences, the language column, sampling and model strategy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.analysis import analyze_dataset, languages
from engine.analysis.languages import UNKNOWN, detect_languages, normalize_language

FRENCH = [
    "Le gouvernement a annoncé une nouvelle réforme des retraites ce matin.",
    "Nous avons adoré ce restaurant, le service était impeccable.",
    "Il pleut encore à Paris et les enfants restent à la maison.",
    "Cette application plante tout le temps, je suis très déçu.",
]
ENGLISH = [
    "The government announced a new pension reform this morning.",
    "We loved this restaurant, the service was flawless.",
    "It is raining again in London and the children stay at home.",
    "This app keeps crashing all the time, I am very disappointed.",
]


def test_known_french_and_english_sentences() -> None:
    assert detect_languages(FRENCH) == ["FR"] * 4
    assert detect_languages(ENGLISH) == ["EN"] * 4


def test_texts_without_evidence_are_unknown() -> None:
    assert detect_languages(["12345", ":-)", ""]) == [UNKNOWN] * 3


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("fr", "FR"),
        ("FR", "FR"),
        ("fr-CA", "FR"),
        ("en_US", "EN"),
        ("French", "FR"),
        ("français", "FR"),
        ("Deutsch", "DE"),
        ("", UNKNOWN),
        (None, UNKNOWN),
        ("klingon", "KLINGON"),
    ],
)
def test_language_column_values_are_normalized(value: str | None, code: str) -> None:
    assert normalize_language(value) == code


def _dataset(tmp_path: Path, texts: list[str], **columns: list[str]) -> Path:
    path = tmp_path / "data.csv"
    labels = ["a", "b"] * (len(texts) // 2)
    pd.DataFrame({"text": texts, "label": labels, **columns}).to_csv(path, index=False)
    return path


def test_mixed_languages_call_for_a_multilingual_model(tmp_path: Path) -> None:
    config = analyze_dataset(_dataset(tmp_path, FRENCH + ENGLISH)).language_config
    assert sorted(config.confirmed_languages) == ["EN", "FR"]
    assert config.language_distribution == {"FR": 4, "EN": 4}
    assert config.model_strategy == "multilingual"
    assert config.language_model_mapping == {}
    assert config.detection_method is not None and config.detection_method.startswith("py3langid")
    assert config.detection_sample_size == 8


def test_one_language_maps_to_its_model(tmp_path: Path) -> None:
    analysis = analyze_dataset(_dataset(tmp_path, FRENCH * 2))
    config = analysis.language_config
    assert config.confirmed_languages == ["FR"]
    assert config.model_strategy == "language-specific"
    assert config.language_model_mapping == {"FR": "camembert-base"}
    assert analysis.recommended_model == "camembert-base"


def test_language_column_overrides_detection(tmp_path: Path) -> None:
    # The column says German for English texts: the column wins.
    path = _dataset(tmp_path, ENGLISH * 2, lang=["de"] * 8)
    config = analyze_dataset(path).language_config
    assert config.detection_method == "column:lang"
    assert config.language_distribution == {"DE": 8}
    named = analyze_dataset(path, language_column="lang").language_config
    assert named.confirmed_languages == ["DE"]


def test_large_files_detect_on_a_recorded_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(languages, "DETECTION_SAMPLE_SIZE", 6)
    analysis = analyze_dataset(_dataset(tmp_path, (FRENCH + ENGLISH) * 2))
    config = analysis.language_config
    assert config.detection_sample_size == 6
    assert sum(config.language_distribution.values()) == 6
    assert any("random sample of 6 of 16 texts" in w for w in analysis.dataset_config.warnings)
    again = analyze_dataset(_dataset(tmp_path, (FRENCH + ENGLISH) * 2)).language_config
    assert again.language_distribution == config.language_distribution  # seeded sample

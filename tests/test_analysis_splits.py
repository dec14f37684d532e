"""Splits (reproducible, stratified), fingerprints and the model catalogue's offline check."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from engine.analysis import (
    Examples,
    fingerprint_changes,
    fingerprint_file,
    is_available_offline,
    recommend_models,
    split_examples,
)
from engine.analysis.catalog import model_max_tokens, tokenizer_directory
from engine.errors import BadInputError
from engine.schema import SplitConfig


def single_label(counts: dict[str, int]) -> Examples:
    names = list(counts)
    targets = [[index] for index, name in enumerate(names) for _ in range(counts[name])]
    return Examples([f"text {i}" for i in range(len(targets))], names, targets, False, None)


def test_same_seed_same_split_other_seed_other_split() -> None:
    examples = single_label({"a": 60, "b": 30, "c": 10})
    config = SplitConfig(seed=7, validation_ratio=0.2, test_ratio=0.1)
    first = split_examples(examples, config)
    assert split_examples(examples, config) == first
    assert (
        split_examples(examples, SplitConfig(seed=8, validation_ratio=0.2, test_ratio=0.1)) != first
    )
    everything = first.train + first.validation + first.test
    assert sorted(everything) == list(range(100))
    assert (len(first.train), len(first.validation), len(first.test)) == (70, 20, 10)


def test_single_label_split_is_stratified() -> None:
    examples = single_label({"a": 80, "b": 20})
    parts = split_examples(examples, SplitConfig(validation_ratio=0.25))
    validation = Counter(examples.targets[i][0] for i in parts.validation)
    assert validation == {0: 20, 1: 5}


def test_unstratified_split_when_asked() -> None:
    examples = single_label({"a": 50, "b": 50})
    parts = split_examples(examples, SplitConfig(stratified=False, validation_ratio=0.2))
    assert len(parts.validation) == 20


def test_multi_label_split_spreads_rare_labels() -> None:
    targets = [[0] for _ in range(80)] + [[0, 1] for _ in range(15)] + [[1, 2] for _ in range(5)]
    examples = Examples([f"t{i}" for i in range(100)], ["a", "b", "c"], targets, True, None)
    parts = split_examples(examples, SplitConfig(validation_ratio=0.2))
    validation = Counter(label for i in parts.validation for label in examples.targets[i])
    assert validation[2] == 1  # 5 texts with the rarest label: 20% go to validation
    assert validation[1] == 4  # 20 texts with label b
    assert split_examples(examples, SplitConfig(validation_ratio=0.2)) == parts


def test_class_too_small_for_the_split_names_it() -> None:
    examples = single_label({"a": 10, "b": 2, "c": 1})
    with pytest.raises(BadInputError, match=r"'b' \(2\), 'c' \(1\)"):
        split_examples(examples, SplitConfig(validation_ratio=0.2, test_ratio=0.2))


def test_part_too_small_for_all_classes() -> None:
    examples = single_label({name: 2 for name in "abcdefghij"})
    with pytest.raises(BadInputError, match="too few to hold one example of each of the 10"):
        split_examples(examples, SplitConfig(validation_ratio=0.1))


@pytest.mark.parametrize(("validation", "test"), [(1.0, 0.0), (-0.1, 0.0), (0.5, 0.5)])
def test_bad_ratios(validation: float, test: float) -> None:
    with pytest.raises(BadInputError, match="ratio"):
        split_examples(
            single_label({"a": 5, "b": 5}),
            SplitConfig(validation_ratio=validation, test_ratio=test),
        )


def test_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"text,label\nhello,a\n")
    recorded = fingerprint_file(path, rows=1)
    assert recorded.sha256 == hashlib.sha256(b"text,label\nhello,a\n").hexdigest()
    assert (recorded.size_bytes, recorded.rows) == (19, 1)
    assert fingerprint_changes(recorded, fingerprint_file(path, rows=1)) == []
    path.write_bytes(b"text,label\nhello,b\nbye,a\n")
    changes = fingerprint_changes(recorded, fingerprint_file(path, rows=2))
    assert changes == ["size 19 -> 25 bytes", "content (sha256) differs", "rows 1 -> 2"]
    with pytest.raises(BadInputError, match="does not exist"):
        fingerprint_file(tmp_path / "gone.csv")


def test_recommendations_follow_languages_and_length() -> None:
    assert recommend_models(["FR"])[0].model_id == "camembert-base"
    assert recommend_models(["EN"])[0].model_id == "roberta-base"
    assert recommend_models(["FR", "EN"])[0].model_id == "xlm-roberta-base"
    assert all(model.multilingual for model in recommend_models(["FR", "EN"]))
    assert recommend_models(["PL"])[0].model_id == "xlm-roberta-base"
    assert recommend_models(["EN"], long_documents=True)[0].max_tokens > 512
    assert recommend_models(["FR", "DE"], long_documents=True)[0].multilingual


def _fake_cache(cache: Path, repo: str, files: list[str]) -> Path:
    """The layout huggingface_hub writes: refs/main names the snapshot holding the files."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("0" * 40)
    for name in files:
        (snapshot / name).write_text(
            '{"max_position_embeddings": 514, "model_type": "roberta"}'
            if name == "config.json"
            else "{}"
        )
    return snapshot


def test_offline_availability_from_the_local_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    snapshot = _fake_cache(
        tmp_path, "org/full", ["config.json", "model.safetensors", "tokenizer.json"]
    )
    _fake_cache(tmp_path, "org/config-only", ["config.json"])
    assert is_available_offline("org/full")
    assert not is_available_offline("org/config-only")
    assert not is_available_offline("org/absent")
    assert not is_available_offline("not a valid id")
    assert tokenizer_directory("org/full") == snapshot
    assert tokenizer_directory("org/config-only") is None
    assert model_max_tokens("org/full") == 512  # roberta: 514 positions, 2 for padding


def test_local_model_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 128}')
    assert not is_available_offline(str(tmp_path))  # no weights
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert is_available_offline(str(tmp_path))
    assert model_max_tokens(str(tmp_path)) == 128
    assert model_max_tokens("camembert-base") == 512

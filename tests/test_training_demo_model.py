"""The demo model: a tiny BERT whose trained tokenizer keeps accents through save and load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.sessions.sample_data import SAMPLE_PATH
from engine.training.demo_model import (
    ACCENT_PROBE,
    DEMO_INFO_FILE,
    TINY_SPEC,
    build_demo_model,
    is_demo_model,
    read_corpus,
    train_tokenizer,
)

FRENCH = "Le médecin de l'hôpital parle de santé, d'élection et de l'équipe."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo") / "tiny"
    return build_demo_model(directory, read_corpus(SAMPLE_PATH, "text"), TINY_SPEC)


def test_the_model_loads_through_the_normal_path(tiny: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny, num_labels=4)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert len(tokenizer) <= TINY_SPEC.vocab_size
    batch = tokenizer([FRENCH], truncation=True, max_length=32, return_tensors="pt")
    assert model(**batch).logits.shape == (1, 4)
    assert is_demo_model(tiny)
    assert json.loads((tiny / DEMO_INFO_FILE).read_text())["spec"]["hidden_size"] == 32


def test_accents_survive_save_and_load(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(tiny).tokenize(FRENCH)
    joined = "".join(token.removeprefix("##") for token in tokens)
    for word in ("médecin", "hôpital", "santé", "élection", "équipe"):
        assert word in joined, (word, tokens)
    assert tokens == [t for t in tokens if t == t.lower()]  # still lower-cased


def test_without_strip_accents_false_the_round_trip_loses_them(tmp_path: Path) -> None:
    # The trap the builder avoids: the same tokenizer object, saved without strip_accents=False.
    from transformers import AutoTokenizer, BertTokenizer

    backend = train_tokenizer(read_corpus(SAMPLE_PATH, "text"), 500)
    BertTokenizer(tokenizer_object=backend).save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert (
        reloaded.tokenize(ACCENT_PROBE)
        != backend.encode(ACCENT_PROBE, add_special_tokens=False).tokens
    )


def test_the_builder_refuses_to_overwrite_other_files(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(BadInputError, match="not an empty directory"):
        build_demo_model(tmp_path, ["some text"], TINY_SPEC)
    with pytest.raises(BadInputError, match="no text"):
        build_demo_model(tmp_path / "new", [], TINY_SPEC)


def test_read_corpus_names_a_missing_column() -> None:
    with pytest.raises(BadInputError, match="column 'body' not found"):
        read_corpus(SAMPLE_PATH, "body")

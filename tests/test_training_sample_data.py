"""The bundled sample dataset: generated deterministically, bilingual, balanced and learnable."""

from __future__ import annotations

import pandas as pd

from engine.sessions.sample_data import (
    DEFAULT_ROWS,
    SAMPLE_PATH,
    TOPIC_DELIMITER,
    generate_rows,
    render_csv,
)


def test_the_committed_file_is_what_the_generator_writes() -> None:
    assert SAMPLE_PATH.read_bytes() == render_csv(generate_rows())


def test_the_generator_is_deterministic_and_seeded() -> None:
    assert generate_rows(50, seed=1) == generate_rows(50, seed=1)
    assert generate_rows(50, seed=1) != generate_rows(50, seed=2)


def test_the_sample_is_bilingual_balanced_and_keeps_accents() -> None:
    frame = pd.read_csv(SAMPLE_PATH)
    assert len(frame) == DEFAULT_ROWS >= 1000
    assert set(frame["language"]) == {"FR", "EN"}
    assert min(frame["language"].value_counts()) > 0.3 * len(frame)
    counts = frame["label"].value_counts()
    assert len(counts) >= 3 and counts.min() > 0.2 * len(frame)
    french = " ".join(frame.loc[frame["language"] == "FR", "text"])
    assert all(word in french for word in ("élection", "santé", "équipe", "données"))
    topics = frame["topics"].str.split(TOPIC_DELIMITER)
    assert all(label in row for label, row in zip(frame["label"], topics, strict=True))
    assert (topics.str.len() > 1).mean() > 0.2  # enough rows with two topics for multi-label


def test_the_labels_are_learnable_but_not_trivial() -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    frame = pd.read_csv(SAMPLE_PATH)
    features = CountVectorizer().fit_transform(frame["text"])
    scores = cross_val_score(
        LogisticRegression(max_iter=1000), features, frame["label"], scoring="f1_macro", cv=3
    )
    assert 0.8 < scores.mean() < 0.99

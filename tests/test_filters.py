"""Search and filter of the history: free words, field terms, errors, and tag normalisation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.errors import BadInputError
from engine.filters import FIELDS, normalize_tags, parse_filter
from engine.schema import Environment, TrainingMetadata

MakeMetadata = Callable[..., TrainingMetadata]


@pytest.fixture
def session(make_metadata: MakeMetadata) -> TrainingMetadata:
    """A failed benchmark of two models on debates, with notes, tags, host and F1."""
    metadata = make_metadata(
        "20260315_101500",
        status="failed",
        model="camembert-base",
        mode="benchmark",
        dataset="/home/ana/My Data/Debates_2024.csv",
    )
    metadata.training_model_config.selected_models = ["camembert-base", "xlm-roberta-base"]
    metadata.training_session.workflow = "Training Studio - Benchmark"
    metadata.notes = "Pilot run for the ACL submission"
    metadata.tags = ["Paper", "pilot"]
    metadata.execution_status.best_f1 = 0.82
    metadata.execution_status.host = "gpu-box-3"
    return metadata


def matches(text: str, metadata: TrainingMetadata, status: str = "failed") -> bool:
    return parse_filter(text).matches(metadata, status)


@pytest.mark.parametrize(
    "word",
    [
        "train_20260315",  # session id
        "debates_2024",  # dataset file name, any case
        "my data",  # dataset path (quoted below)
        "XLM-ROBERTA",  # second model
        "acl submission",  # notes
        "paper",  # tag
        "studio - bench",  # workflow
    ],
)
def test_free_words_match_anywhere_case_insensitively(session: TrainingMetadata, word: str) -> None:
    assert matches(f'"{word}"', session)


def test_every_word_and_term_must_match(session: TrainingMetadata) -> None:
    assert matches("pilot debates status:failed", session)
    assert not matches("pilot absent-word", session)
    assert not matches("pilot status:completed", session)


def test_status_is_the_live_status_passed_in(session: TrainingMetadata) -> None:
    session.execution_status.status = "running"
    assert matches("status:interrupted", session, status="interrupted")
    assert not matches("status:running", session, status="interrupted")
    assert matches("status:failed,interrupted", session, status="interrupted")
    assert matches("STATUS:Stale", session, status="stale")


def test_model_dataset_mode_tag_and_host_terms(session: TrainingMetadata) -> None:
    assert matches("model:roberta", session)
    assert matches("model:CamemBERT", session)
    assert not matches("model:deberta", session)
    assert matches("dataset:debates", session)
    assert matches('dataset:"my data/debates"', session)
    assert not matches("dataset:tweets", session)
    assert matches("mode:benchmark", session)
    assert not matches("mode:quick", session)
    assert matches("tag:paper", session)
    assert matches("tag:PILOT", session)
    assert not matches("tag:pap", session)  # tags match exactly, not as substrings
    assert matches("host:gpu-box", session)
    session.execution_status.host = None
    session.environment = Environment(host="laptop-7")
    assert matches("host:laptop", session)
    assert not matches("host:gpu-box", session)


def test_model_term_sees_language_specific_models(session: TrainingMetadata) -> None:
    session.language_config.language_model_mapping = {"EN": "roberta-large"}
    assert matches("model:roberta-large", session)


def test_windows_dataset_path_matches_by_file_name(session: TrainingMetadata) -> None:
    session.dataset_config.primary_file = r"C:\Users\ana\data\votes.xlsx"
    assert matches("dataset:votes.xlsx", session)
    assert matches("dataset:ana/data", session)


def test_dates_are_inclusive_creation_dates(session: TrainingMetadata) -> None:
    assert matches("after:2026-03-15 before:2026-03-15", session)
    assert matches("after:2026-01-01 before:2026-06-30", session)
    assert not matches("after:2026-03-16", session)
    assert not matches("before:2026-03-14", session)
    session.training_session.timestamp = "2026-04-02T08:00:00"
    assert matches("after:2026-04-02", session)


def test_f1_comparisons(session: TrainingMetadata) -> None:
    assert matches("f1>0.8", session)
    assert matches("f1>=0.82 f1<=0.82", session)
    assert matches("f1:>0.5", session)
    assert not matches("f1<0.5", session)
    session.execution_status.best_f1 = None
    assert not matches("f1>0", session)
    assert not matches("f1<1", session)


def test_a_quoted_phrase_with_a_colon_is_a_free_phrase(session: TrainingMetadata) -> None:
    session.notes = "todo: rerun with seed 7, about l'économie"
    assert matches('"todo: rerun"', session)
    assert matches("l'économie", session)  # an apostrophe is not a quote


def test_empty_filter_matches_everything(session: TrainingMetadata) -> None:
    empty = parse_filter("   ")
    assert not empty
    assert empty.describe() == ""
    assert empty.matches(session, "failed")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", "unknown filter field 'colour'"),
        ("loss<0.3", "unknown filter field 'loss'"),
        ("after:2026-13-01", "bad date in filter term 'after:2026-13-01'"),
        ("before:31/01/2026", "write YYYY-MM-DD"),
        ("f1>high", "needs a number"),
        ("f1:0.8", "needs a comparison"),
        ("status:broken", "unknown status broken"),
        ("mode:fast", "valid values: quick, benchmark, custom, distributed"),
        ("status>failed", "takes 'status:VALUE'"),
        ("model:", "has no value"),
        ('dataset:"my data', "unbalanced double quote"),
    ],
)
def test_bad_filters_are_named_errors(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message.replace("(", r"\(")):
        parse_filter(text)


def test_unknown_field_error_lists_the_valid_fields() -> None:
    with pytest.raises(BadInputError) as caught:
        parse_filter("owner:ana")
    assert f"valid fields: {', '.join(FIELDS)}" in str(caught.value)


def test_describe_is_the_canonical_text() -> None:
    described = parse_filter('Status:failed  dataset:"my data" f1:>0.8 pilot "a b"').describe()
    assert described == 'status:failed dataset:"my data" f1>0.8 pilot "a b"'
    assert parse_filter(described).describe() == described


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"')))
def test_describe_round_trips_any_dataset_value(value: str) -> None:
    assume(value)
    parsed = parse_filter(f'dataset:"{value}"')
    assert parse_filter(parsed.describe()) == parsed


def test_normalize_tags() -> None:
    assert normalize_tags("a, b,,A") == ["a", "b"]
    assert normalize_tags(["Paper", "draft, paper", "  to   review "]) == [
        "Paper",
        "draft",
        "to review",
    ]
    assert normalize_tags("") == []

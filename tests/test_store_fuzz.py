"""Property-based: no bytes and no JSON document make the store's reader or the watcher raise.

Whatever a file holds, reading it gives a session or a MetadataError with a reason (shown as an
unreadable row); the watcher reports the file either way. Nothing else may escape, since one
escaping exception would hide every other session of the history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.schema import TrainingMetadata
from engine.store import MetadataError, SessionCache, parse_metadata_bytes
from engine.watcher import SessionWatcher
from tests.fakes import session_metadata

FILE = Path("training_metadata_fuzz.json")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # Beyond what a float holds (integers past 4,300 digits: see the test of huge literals).
    st.integers(min_value=10**300, max_value=10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["running", "completed", "pending", "failed", "interrupted", "\ud800"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_paths(value, (*prefix, key)))
    return found


VALID = session_metadata().to_document()
FIELD_PATHS = [path for path in _paths(VALID) if path]


@st.composite
def metadata_like(draw: st.DrawFn) -> Any:
    """A valid session document with a few of its fields replaced by arbitrary JSON values."""
    document = json.loads(json.dumps(VALID))
    for path in draw(st.lists(st.sampled_from(FIELD_PATHS), max_size=4)):
        target = document
        for key in path[:-1]:
            if not isinstance(target, dict) or key not in target:
                break
            target = target[key]
        else:
            if isinstance(target, dict):
                target[path[-1]] = draw(json_values)
    return document


def encoded(document: Any) -> bytes:
    # ensure_ascii escapes lone surrogates (\ud800) instead of failing to encode them.
    return json.dumps(document, allow_nan=True).encode("utf-8")


def read(raw: bytes) -> TrainingMetadata | None:
    try:
        return parse_metadata_bytes(FILE, raw)
    except MetadataError as error:
        assert error.reason and "\n" not in error.reason
        return None


@given(st.binary(max_size=2048))
def test_any_bytes_read_or_are_refused(raw: bytes) -> None:
    read(raw)


@given(json_values)
def test_any_json_document_reads_or_is_refused(document: Any) -> None:
    read(encoded(document))


@given(metadata_like())
def test_a_session_with_any_field_changed_reads_or_is_refused(document: Any) -> None:
    metadata = read(encoded(document))
    if metadata is not None:
        # What was accepted can be written back as JSON and read again the same.
        rewritten = json.dumps(metadata.to_document(), allow_nan=False).encode("utf-8")
        assert parse_metadata_bytes(FILE, rewritten).to_document() == metadata.to_document()


#: Where a literal goes: any field of a valid session, or a key of a collaborator's own.
LITERAL_PLACES = [*FIELD_PATHS, ("collaborator_extra",)]
#: Numbers JSON allows but a float or an int of Python cannot hold, and JSON's non-numbers.
UNHOLDABLE = st.one_of(
    st.integers(min_value=4_301, max_value=20_000).map(lambda digits: "9" * digits),
    # 210 nines times 10^99 is above the largest float (1.8e308).
    st.integers(min_value=210, max_value=400).map(lambda digits: "9" * digits + ".5e99"),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e99999", '"\\udfff"']),
)


def with_literal(path: tuple[Any, ...], literal: str) -> bytes:
    # Written into the text itself: json.dumps could not produce these.
    document = json.loads(json.dumps(VALID))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "PLACEHOLDER"
    return json.dumps(document).replace('"PLACEHOLDER"', literal).encode("utf-8")


@given(path=st.sampled_from(LITERAL_PLACES), literal=UNHOLDABLE)
def test_values_python_cannot_hold_are_never_written_back_as_invalid_json(
    path: tuple[Any, ...], literal: str
) -> None:
    # In a known field they are refused; in a collaborator's own key, a non-finite number is
    # kept as null. Either way, what is accepted is written back as strict JSON.
    metadata = read(with_literal(path, literal))
    if path in FIELD_PATHS:
        assert metadata is None
    elif metadata is not None:
        json.dumps(metadata.to_document(), allow_nan=False)


@given(
    path=st.sampled_from(LITERAL_PLACES),
    depth=st.integers(min_value=1, max_value=50_000),
)
def test_any_nesting_reads_or_is_refused(path: tuple[Any, ...], depth: int) -> None:
    read(with_literal(path, "[" * depth + "]" * depth))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(raw=st.one_of(st.binary(max_size=1024), metadata_like().map(encoded)))
def test_the_watcher_reports_any_file(raw: bytes, tmp_path: Path) -> None:
    sessions = tmp_path / "ws" / "logs" / "training_sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    path = sessions / FILE.name
    path.write_bytes(raw)
    watcher = SessionWatcher(sessions, cache=SessionCache())
    batch = watcher._report([str(path)])
    (entry,) = batch.added
    assert (entry.metadata is None) == (entry.error is not None)
    path.unlink()
    assert watcher._report([str(path)]).removed == [path]

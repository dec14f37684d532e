"""The metadata schema: the example and the original tool's files load and round-trip intact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from engine.schema import (
    ALLOWED_TRANSITIONS,
    DatasetConfig,
    ExecutionStatus,
    InvalidTransitionError,
    LanguageConfig,
    ModelConfig,
    OutputPaths,
    TextAnalysis,
    TrainingMetadata,
    TrainingSession,
    metadata_json_schema,
)
from tests.conftest import EXAMPLE_FILE

DATA = Path(__file__).parent / "data"


def assert_preserved(original: Any, written: Any, path: str = "") -> None:
    """Every key and value of ``original`` is in ``written`` with the same value and type."""
    if isinstance(original, dict):
        assert isinstance(written, dict), path
        for key, value in original.items():
            assert key in written, f"{path}.{key} was dropped"
            assert_preserved(value, written[key], f"{path}.{key}")
    else:
        assert written == original, f"{path}: {original!r} became {written!r}"
        assert type(written) is type(original), f"{path}: type changed"


def test_example_file_loads_verbatim(example_document: dict[str, Any]) -> None:
    metadata = TrainingMetadata.from_document(example_document)
    assert metadata.session_id == "train_20251005_234530"
    assert metadata.training_model_config.selected_model == "camembert-base"
    assert metadata.execution_status.best_f1 == 0.89
    assert metadata.language_config.language_distribution == {"FR": 800, "EN": 200}
    assert_preserved(example_document, metadata.to_document())


def test_original_tool_wider_format_round_trips_unknown_sections() -> None:
    document = json.loads((DATA / "original-tool-metadata.json").read_text(encoding="utf-8"))
    metadata = TrainingMetadata.from_document(document)
    assert metadata.status == "failed"
    written = metadata.to_document()
    assert_preserved(document, written)
    # A second round trip is a fixed point.
    assert TrainingMetadata.from_document(written).to_document() == written


def test_load_modify_save_keeps_unknown_keys(example_document: dict[str, Any]) -> None:
    example_document["reinforced_learning_config"] = {"enabled": True, "x": [1, {"y": None}]}
    example_document["model_config"]["collaborator_flag"] = "keep me"
    metadata = TrainingMetadata.from_document(example_document)
    metadata.notes = "edited"
    metadata.training_model_config.epochs = 4
    written = metadata.to_document()
    assert written["reinforced_learning_config"] == {"enabled": True, "x": [1, {"y": None}]}
    assert written["model_config"]["collaborator_flag"] == "keep me"
    assert written["model_config"]["epochs"] == 4
    assert written["notes"] == "edited"


def test_session_id_is_derived_from_timestamp_when_missing(
    example_document: dict[str, Any],
) -> None:
    del example_document["training_session"]["session_id"]
    assert TrainingMetadata.from_document(example_document).session_id == "train_20251005_234530"


@pytest.mark.parametrize(
    ("mutation", "location"),
    [
        (lambda d: d.pop("execution_status") and d.pop("model_config"), "model_config"),
        (lambda d: d["execution_status"].update(status="done"), "execution_status.status"),
        (lambda d: d["model_config"].update(epochs="many"), "model_config.epochs"),
        (lambda d: d.update(dataset_config=[]), "dataset_config"),
    ],
)
def test_invalid_documents_name_the_failing_field(
    example_document: dict[str, Any], mutation: Any, location: str
) -> None:
    mutation(example_document)
    with pytest.raises(ValidationError) as info:
        TrainingMetadata.from_document(example_document)
    locations = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert location in locations


def test_status_transitions() -> None:
    metadata_status = ExecutionStatus(status="completed")
    with pytest.raises(InvalidTransitionError, match="'completed' to 'running'"):
        metadata_status.check_transition("running")
    for old, allowed in ALLOWED_TRANSITIONS.items():
        metadata_status.status = old  # type: ignore[assignment]
        for new in allowed:
            metadata_status.check_transition(new)
    metadata_status.status = "interrupted"
    metadata_status.check_transition("running")  # resume


def test_json_schema_is_generated_with_field_descriptions() -> None:
    schema = metadata_json_schema()
    assert "model_config" in schema["properties"]
    status = schema["$defs"]["ExecutionStatus"]["properties"]["status"]
    assert set(status["enum"]) == {"pending", "running", "completed", "failed", "interrupted"}
    assert (
        "Process id of the worker"
        in schema["$defs"]["ExecutionStatus"]["properties"]["pid"]["description"]
    )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
extra_keys = st.text(min_size=1, max_size=12).filter(lambda k: not k.startswith("_"))


SECTIONS: dict[str, type[BaseModel]] = {
    "training_session": TrainingSession,
    "dataset_config": DatasetConfig,
    "language_config": LanguageConfig,
    "text_analysis": TextAnalysis,
    "model_config": ModelConfig,
    "execution_status": ExecutionStatus,
    "output_paths": OutputPaths,
}


def _declared_keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@settings(max_examples=150, deadline=None)
@given(
    section=st.sampled_from([None, *SECTIONS]),
    extras=st.dictionaries(extra_keys, json_values, min_size=1, max_size=4),
)
def test_property_unknown_keys_round_trip(section: str | None, extras: dict[str, Any]) -> None:
    document = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    target = document if section is None else document[section]
    declared = _declared_keys(TrainingMetadata if section is None else SECTIONS[section])
    unknown = {key: value for key, value in extras.items() if key not in declared}
    target.update(unknown)
    written = TrainingMetadata.from_document(document).to_document()
    # Compare through JSON: what matters is what is written to disk.
    assert_preserved(json.loads(json.dumps(document)), json.loads(json.dumps(written)))

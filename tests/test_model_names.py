"""A model given as a local directory is shown by the directory's name; a hub id as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.details import detail_rows
from engine.rows import is_local_model_path, model_label, row_from_document, short_model_name
from engine.schema import TrainingMetadata

BuildMetadata = Callable[..., TrainingMetadata]


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        # Hub ids, with or without an organisation, stay as they are.
        ("camembert-base", "camembert-base"),
        ("FacebookAI/xlm-roberta-base", "FacebookAI/xlm-roberta-base"),
        ("flaubert/flaubert_large_cased", "flaubert/flaubert_large_cased"),
        # One slash is an org/name, even a relative directory's: the disk is not looked at.
        ("models/demo-bert", "models/demo-bert"),
        ("FacebookAI/xlm-roberta-base/", "FacebookAI/xlm-roberta-base/"),
        # Local paths: absolute, home, here, up, two slashes or more.
        ("/srv/models/demo-bert", "demo-bert"),
        ("/demo-bert", "demo-bert"),
        ("~/models/demo-bert", "demo-bert"),
        ("~user/demo-bert", "demo-bert"),
        ("./demo-bert", "demo-bert"),
        ("../models/demo-bert", "demo-bert"),
        ("models/bert/demo-bert", "demo-bert"),
        # Windows: a drive, a backslash, a share.
        ("C:\\models\\demo-bert", "demo-bert"),
        ("C:/demo-bert", "demo-bert"),
        ("models\\demo-bert", "demo-bert"),
        (".\\demo-bert", "demo-bert"),
        ("\\\\server\\share\\demo-bert", "demo-bert"),
        # A trailing separator is ignored.
        ("/srv/models/demo-bert/", "demo-bert"),
        ("C:\\models\\demo-bert\\", "demo-bert"),
        ("./demo-bert//", "demo-bert"),
        # Nothing to shorten, or no name to shorten to: the value itself.
        ("", ""),
        ("-", "-"),
        ("(multiple)", "(multiple)"),
        ("/", "/"),
        ("///", "///"),
        ("\\\\", "\\\\"),
        ("~", "~"),
        ("~/", "~/"),
        ("./", "./"),
        ("../..", "../.."),
        ("C:\\", "C:\\"),
        ("C:", "C:"),
        # Odd characters are kept (escaped where they are shown, not here).
        ("/srv/\x1b[31mred\x00/", "\x1b[31mred\x00"),
        ("/srv/models/[bold]demo", "[bold]demo"),
        ("/srv/models/démo bert", "démo bert"),
    ],
)
def test_short_model_name(model: str, shown: str) -> None:
    assert short_model_name(model) == shown


def test_only_paths_are_local() -> None:
    assert is_local_model_path("/srv/demo-bert")
    assert is_local_model_path("a/b/c")
    assert not is_local_model_path("org/name")
    assert not is_local_model_path("org/name/")
    assert not is_local_model_path("camembert-base")


def test_the_label_keeps_the_recorded_value() -> None:
    assert model_label("quick", ["/srv/models/demo-bert"]) == "/srv/models/demo-bert"
    assert model_label("benchmark", ["/srv/a", "/srv/b"]) == "(multiple)"
    assert model_label("quick", []) == "-"


def test_a_row_shows_the_name_and_its_json_keeps_the_path() -> None:
    document = {"model_config": {"selected_model": "/srv/models/demo-bert/"}}
    row = row_from_document(Path("training_metadata_x.json"), (0, 0, 0, 0), document)
    assert row.model == "/srv/models/demo-bert/"
    assert row.model_name == "demo-bert"
    assert row.to_json()["model"] == "/srv/models/demo-bert/"


def test_details_show_the_name_and_keep_the_path_in_its_own_row(
    make_metadata: BuildMetadata,
) -> None:
    rows = dict(detail_rows(make_metadata(model="/srv/models/demo-bert"), "pending"))
    assert rows["Model"] == "demo-bert"
    assert rows["Model Path"] == "/srv/models/demo-bert"
    metadata = make_metadata(mode="benchmark")
    metadata.training_model_config.selected_models = ["~/demo-bert", "camembert-base"]
    rows = dict(detail_rows(metadata, "pending"))
    assert rows["Model"] == "demo-bert, camembert-base"
    assert rows["Model Path"] == "~/demo-bert, camembert-base"


def test_details_of_a_hub_model_have_no_path_row(make_metadata: BuildMetadata) -> None:
    rows = dict(detail_rows(make_metadata(model="FacebookAI/xlm-roberta-base"), "pending"))
    assert rows["Model"] == "FacebookAI/xlm-roberta-base"
    assert "Model Path" not in rows

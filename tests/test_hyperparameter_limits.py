"""One set of defaults and limits for every way of setting hyperparameters, and its warnings.

``train``'s flags, ``relaunch --set``, the wizard (tests/test_wizard.py) and the edit-and-relaunch
dialog refuse the same values with the same words, start from the same defaults, and warn (without
refusing) about a batch larger than the training set or a max length that cuts many texts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Input, Static

from engine.errors import BadInputError
from engine.facade import Engine
from engine.schema import (
    DatasetConfig,
    ModelConfig,
    SplitConfig,
    TextAnalysis,
    TokenStats,
    TrainingMetadata,
)
from engine.sessions.hyperparameters import (
    BOUNDS,
    hyperparameter_warnings,
    new_session_defaults,
    validate_hyperparameters,
)
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.cli import build_parser, main
from llmtool_tui.cli.training import _model_config
from llmtool_tui.dialogs import RelaunchEditDialog
from llmtool_tui.dialogs.relaunch_edit import RelaunchEdits
from llmtool_tui.screenshots import wait_until
from llmtool_tui.validators import validator_for
from tests.fakes import FAKE_WORKER_MODULE, model_folder
from tests.pilots import open_detail, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


def test_train_starts_from_the_defaults_the_wizard_shows() -> None:
    args = build_parser().parse_args(["train", "data.csv", "--model", "m"])
    config = _model_config(args, ["m"], demo_model=False)
    defaults = new_session_defaults()
    assert config.model_dump(include=set(defaults)) == defaults
    assert (config.warmup_ratio, config.weight_decay) == (0.1, 0.01)


def test_the_command_and_the_forms_refuse_the_same_values_in_the_same_words(
    workspace: Workspace, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["-w", str(workspace.root), "train", str(dataset), "--model", "m", "--batch-size", "100000"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "batch_size must be a whole number from 1 to 4096 (got 100000)" in err
    failure = validator_for("batch_size").validate("100000")
    assert failure.failure_descriptions == ["Must be a whole number from 1 to 4096."]
    for name, bound in BOUNDS.items():
        assert validator_for(name).failure_description == f"Must be {bound.description()}."


def test_relaunch_set_is_bounded_like_train(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path
) -> None:
    path = SessionStore(workspace).create(make_metadata(status="completed", dataset=str(dataset)))
    with pytest.raises(BadInputError, match="batch_size must be a whole number from 1 to 4096"):
        Engine(workspace).prepare_relaunch(path, overrides={"batch_size": "100000"})
    problems = validate_hyperparameters(
        ModelConfig(selected_model="m", max_length=1024), max_tokens=512
    )
    assert problems == ["max_length must be a whole number from 8 to 512 (got 1024)"]


def _data(train_rows: int, token_p95: float) -> tuple[DatasetConfig, TextAnalysis]:
    return (
        DatasetConfig(split=SplitConfig(train_size=train_rows)),
        TextAnalysis(text_length_stats=TokenStats(token_p95=token_p95)),
    )


def test_warnings_name_a_batch_larger_than_the_data_and_a_length_that_cuts_texts() -> None:
    assert (
        hyperparameter_warnings(ModelConfig(batch_size=16, max_length=128), *_data(800, 90)) == []
    )
    warnings = hyperparameter_warnings(ModelConfig(batch_size=2048, max_length=64), *_data(800, 90))
    assert warnings == [
        "batch size 2048 is larger than the 800 training rows: each epoch is one step, which"
        " trains poorly; 16 or 32 is usual",
        "max length 64 cuts more than 1 text in 20: 5% of the texts have over 90 tokens (their"
        " token p95)",
    ]


def test_a_relaunch_warns_and_still_prepares(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path, tmp_path: Path
) -> None:
    model = model_folder(tmp_path / "model")
    metadata = make_metadata(status="completed", dataset=str(dataset), model=str(model))
    metadata.dataset_config.split.train_size = 100
    path = SessionStore(workspace).create(metadata)
    engine = Engine(workspace, worker_module=FAKE_WORKER_MODULE)
    prepared = engine.prepare_relaunch(path, overrides={"batch_size": "512"})
    assert prepared.metadata.training_model_config.batch_size == 512
    assert any("larger than the 100 training rows" in w for w in prepared.warnings)


async def test_the_edit_dialog_offers_every_hyperparameter_and_enter_submits_from_any_field(
    workspace: Workspace, make_metadata: BuildMetadata, dataset: Path
) -> None:
    metadata = make_metadata(status="completed", dataset=str(dataset))
    metadata.dataset_config.split.train_size = 100
    SessionStore(workspace).create(metadata)
    results: list[RelaunchEdits | None] = []
    async with make_app(Engine(workspace), watch=False).run_test(size=(80, 24)) as pilot:
        await open_detail(pilot)
        await pilot.press("e")
        dialog = await wait_for_screen(pilot, RelaunchEditDialog)
        fields = {field.id for field in dialog.query(Input)}
        assert {
            "field-seed",
            "field-max_length",
            "field-warmup_ratio",
            "field-weight_decay",
            "field-early_stopping_patience",
        } <= fields
        dialog.dismiss = results.append  # type: ignore[method-assign,assignment]

        # A refused value: the error is on screen at 80x24, the dialog stays.
        batch = dialog.query_one("#field-batch_size", Input)
        batch.value = "0"
        dialog.query_one("#field-dataset", Input).focus()
        await pilot.press("enter")
        errors = dialog.query_one("#relaunch-errors", Static)
        await wait_until(pilot, lambda: "Batch size" in str(errors.render()))
        assert errors.region and Region(0, 0, 80, 24).contains_region(errors.region)
        assert results == [] and dialog.focused is batch

        # A large batch is warned about, not refused; Enter in the first field submits.
        batch.value = "512"
        dialog.query_one("#field-seed", Input).value = "7"
        warnings = dialog.query_one("#relaunch-warnings", Static)
        await wait_until(
            pilot, lambda: "larger than the 100 training rows" in str(warnings.render())
        )
        dialog.query_one("#field-dataset", Input).focus()
        await pilot.press("enter")
    assert results == [RelaunchEdits(dataset=None, overrides={"batch_size": "512", "seed": "7"})]

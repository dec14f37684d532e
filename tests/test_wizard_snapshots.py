"""Appearance of each step of the New Training Session wizard, at 80x24 and 120x36, and of each
step's longest error at 80x24 (and 100 columns where one was seen cut).

The data lives at a fixed path (the wizard shows it) and the Hugging Face cache is a fake one
holding only xlm-roberta-base, so that what is "offline" is the same on every machine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from engine.facade import Engine
from engine.sessions.sample_data import generate_rows
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.screens.wizard import STEP_IDS, NewSessionWizard
from llmtool_tui.screens.wizard.dataset_browser import DatasetBrowser, DatasetTree
from llmtool_tui.screenshots import frozen_clock, wait_until
from tests.test_wizard import (
    UnstartableEngine,
    error_of,
    headerless_csv,
    paste_text,
    single_label_csv,
    walk_to,
    wizard_of,
    write_csv,
)

SNAPSHOT_DATA = Path(tempfile.gettempdir()) / "llmtool-tui-wizard-snapshots"
SIZES = {"80x24": (80, 24), "120x36": (120, 36)}
#: One xdist worker for the whole module: its tests share SNAPSHOT_DATA.
pytestmark = pytest.mark.xdist_group("wizard-snapshots")
CACHED_MODEL = "xlm-roberta-base"

Compare = Callable[..., bool]


@pytest.fixture
def snapshot_data() -> Iterator[Path]:
    """The dataset (and the "sample" proposed to a new user) at a path that never changes."""
    shutil.rmtree(SNAPSHOT_DATA, ignore_errors=True)
    SNAPSHOT_DATA.mkdir(parents=True)
    shutil.copyfile(single_label_csv(SNAPSHOT_DATA), SNAPSHOT_DATA / "sample_dataset.csv")
    yield SNAPSHOT_DATA
    shutil.rmtree(SNAPSHOT_DATA, ignore_errors=True)


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache holding the configuration and weights of one model (no tokenizer)."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    model = cache / f"models--{CACHED_MODEL}"
    snapshot = model / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (model / "refs").mkdir()
    (model / "refs" / "main").write_text("0" * 40)
    (snapshot / "config.json").write_text('{"model_type": "xlm-roberta"}')
    (snapshot / "model.safetensors").write_text("{}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def studio(workspace: Workspace, sample: Path, engine: type[Engine] = Engine) -> StudioApp:
    app = make_app(engine(workspace), clock=frozen_clock, watch=False)

    def open_wizard() -> None:
        app.push_screen(NewSessionWizard(app.engine, sample_dataset=sample))

    app.call_later(open_wizard)
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Wait for the wizard's background work, then stop the cursors blinking."""
    wizard = wizard_of(pilot.app)
    await wait_until(pilot, lambda: not wizard.analysis_running, 60)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step_id", STEP_IDS)
def test_wizard_step(
    step_id: str,
    size: str,
    snap_compare: Compare,
    workspace: Workspace,
    snapshot_data: Path,
    hub_cache: Path,
) -> None:
    async def walk(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewSessionWizard))
        wizard = wizard_of(pilot.app)
        await wait_until(pilot, lambda: wizard.focused is not None)
        await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
        if step_id != "dataset":
            await walk_to(pilot, snapshot_data / "news.csv", step_id, mode="custom")
        await settle(pilot)

    app = studio(workspace, snapshot_data / "sample_dataset.csv")
    assert snap_compare(app, terminal_size=SIZES[size], run_before=walk)


def test_columns_step_of_a_file_without_header(
    snap_compare: Compare, workspace: Workspace, snapshot_data: Path, hub_cache: Path
) -> None:
    """The tallest columns step: the header's reason and a long layout line, at 80x24 the
    preview keeps its rows on screen."""

    async def walk(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewSessionWizard))
        wizard = wizard_of(pilot.app)
        await wait_until(pilot, lambda: wizard.focused is not None)
        await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
        await walk_to(pilot, headerless_csv(snapshot_data), "columns")
        await settle(pilot)

    app = studio(workspace, snapshot_data / "sample_dataset.csv")
    assert snap_compare(app, terminal_size=SIZES["80x24"], run_before=walk)


def test_dataset_browser(
    snap_compare: Compare, workspace: Workspace, snapshot_data: Path, hub_cache: Path
) -> None:
    async def browse(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewSessionWizard))
        wizard = wizard_of(pilot.app)
        await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DatasetBrowser))
        tree = pilot.app.screen.query_one(DatasetTree)
        await wait_until(pilot, lambda: len(tree.root.children) == 2)
        await pilot.press("down")

    app = studio(workspace, snapshot_data / "sample_dataset.csv")
    assert snap_compare(app, terminal_size=SIZES["80x24"], run_before=browse)


def rare_classes_csv(directory: Path) -> Path:
    """The news sentences and three topics of one text each, which the analysis refuses."""
    rows = generate_rows(100, seed=7)
    for label, row in zip(("economy", "culture", "science"), rows, strict=False):
        rows.append({**row, "label": label})
    return write_csv(directory / "rare.csv", rows, ["text", "label", "language"])


async def fail_dataset(pilot: Pilot[None], data: Path) -> None:
    missing = data / "projects" / "parliamentary-debates" / "annotated_debates_final_v2.csv"
    await paste_text(pilot, "#dataset-path", str(missing))
    await pilot.press("enter")


async def fail_columns(pilot: Pilot[None], data: Path) -> None:
    await paste_text(pilot, "#dataset-path", str(rare_classes_csv(data)))
    await pilot.press("enter")


async def fail_model(pilot: Pilot[None], data: Path) -> None:
    await walk_to(pilot, data / "news.csv", "models", mode="custom")
    await paste_text(pilot, "#other-model", "org/uncached-model")
    await pilot.press("enter")


async def fail_launch(pilot: Pilot[None], data: Path) -> None:
    await walk_to(pilot, data / "news.csv", "save", mode="custom")
    await pilot.press("y")


#: Each step's longest refusal, walked to for real; at 100 columns where issue 20 saw one cut.
LONG_ERRORS = {
    "dataset": (fail_dataset, ("80x24",)),
    "columns": (fail_columns, ("80x24", "100x30")),
    "models": (fail_model, ("80x24", "100x30")),
    "save": (fail_launch, ("80x24",)),
}
ERROR_SIZES = {**SIZES, "100x30": (100, 30)}


@pytest.mark.parametrize(
    ("step_id", "size"),
    [(step_id, size) for step_id, (_, sizes) in LONG_ERRORS.items() for size in sizes],
)
def test_a_long_error_wraps_whole(
    step_id: str,
    size: str,
    snap_compare: Compare,
    workspace: Workspace,
    snapshot_data: Path,
    hub_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The error line wraps, and a step taller than the screen scrolls to it."""
    # The refusal of an uncached model without asking the hub: the same on every machine.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fail = LONG_ERRORS[step_id][0]

    async def walk(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewSessionWizard))
        wizard = wizard_of(pilot.app)
        await wait_until(pilot, lambda: wizard.focused is not None)
        await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
        await fail(pilot, snapshot_data)
        await wait_until(pilot, lambda: error_of(pilot.app) != "", 60)
        assert STEP_IDS[wizard.step_index] == step_id
        await settle(pilot)

    engine = UnstartableEngine if step_id == "save" else Engine
    app = studio(workspace, snapshot_data / "sample_dataset.csv", engine)
    assert snap_compare(app, terminal_size=ERROR_SIZES[size], run_before=walk)

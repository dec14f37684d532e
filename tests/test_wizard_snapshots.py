"""Appearance of each step of the New Training Session wizard, at 80x24 and 120x36.

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
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.screens.wizard import STEP_IDS, NewSessionWizard
from llmtool_tui.screens.wizard.dataset_browser import DatasetBrowser, DatasetTree
from llmtool_tui.screenshots import frozen_clock, wait_until
from tests.test_wizard import headerless_csv, single_label_csv, walk_to, wizard_of

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


def studio(workspace: Workspace, sample: Path) -> StudioApp:
    app = make_app(Engine(workspace), clock=frozen_clock, watch=False)

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

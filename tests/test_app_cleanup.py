"""Archiving old sessions from the history: the plan first, then the move on confirmation."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.commands import SessionCommands
from llmtool_tui.dialogs import CleanupDialog
from llmtool_tui.screens import HistoryScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.fakes import IDLE_MODULE, idle_process, record_running
from tests.pilots import open_history, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]
DAY_S = 86400


@pytest.fixture
def aged_sessions(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> Iterator[dict[str, Path]]:
    """Sessions 200 days old (completed with a model and a run folder, failed, running) and a
    recent one."""
    old = time.time() - 200 * DAY_S
    paths = {}
    for timestamp, status in (
        ("20250101_120000", "completed"),
        ("20250102_120000", "failed"),
        ("20250103_120000", "running"),
        ("20260101_120000", "pending"),
    ):
        # The running one is recorded below, with the stand-in worker that runs it.
        metadata = make_metadata(timestamp=timestamp, status=status.replace("running", "pending"))
        path = store.create(metadata)
        if status != "pending":
            os.utime(path, (old, old))
        paths[status] = path
    workspace.run_dir("train_20250101_120000").mkdir(parents=True)
    workspace.session_models_dir("train_20250101_120000").mkdir(parents=True)
    # A stand-in process plays the worker: alive, so never archived.
    with idle_process(paths["running"]) as worker:
        record_running(workspace, paths["running"], worker)
        os.utime(paths["running"], (old, old))
        yield paths


def app_for(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace, worker_module=IDLE_MODULE), watch=False)


def plan_of(dialog: CleanupDialog) -> str:
    return str(dialog.query_one("#cleanup-plan-text", Static).render())


async def open_cleanup(pilot: Pilot[None]) -> CleanupDialog:
    await open_history(pilot)
    await pilot.press("ctrl+d")
    dialog = await wait_for_screen(pilot, CleanupDialog)
    await wait_until(pilot, lambda: dialog.plan is not None)
    return dialog


async def test_the_plan_is_shown_then_applied_on_confirmation(
    workspace: Workspace, aged_sessions: dict[str, Path]
) -> None:
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        dialog = await open_cleanup(pilot)
        assert dialog.query_one("#cleanup-age", Input).value == "90d"
        plan = plan_of(dialog)
        assert "Would archive 2 sessions last modified before" in plan
        assert "train_20250101_120000  completed  + run folder" in plan
        assert "train_20250102_120000  failed" in plan
        assert "models/train_20250101_120000/" in plan
        assert "running: never archived" in plan
        assert "train_20260101_120000" not in plan
        apply = dialog.query_one("#apply", Button)
        assert str(apply.label) == "Archive 2 sessions"
        assert not apply.disabled
        # Nothing has moved yet.
        assert aged_sessions["completed"].exists()

        await pilot.click("#apply")
        await wait_until(pilot, lambda: dialog.result is not None)
        assert "Archived 2 sessions" in plan_of(dialog)
        assert apply.disabled
        assert not aged_sessions["completed"].exists()
        archived = workspace.archive_dir / "training_sessions" / aged_sessions["completed"].name
        assert archived.exists()
        assert (workspace.archive_dir / "training_runs" / "train_20250101_120000").is_dir()
        assert workspace.session_models_dir("train_20250101_120000").is_dir()
        assert aged_sessions["running"].exists()

        await pilot.press("escape")
        history = await wait_for_screen(pilot, HistoryScreen)
        table = history.query_one(SessionTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        assert {row.status for row in table.shown_rows} == {"running", "pending"}


async def test_a_status_narrows_the_plan_and_changing_it_withdraws_the_plan(
    workspace: Workspace, aged_sessions: dict[str, Path]
) -> None:
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        dialog = await open_cleanup(pilot)
        dialog.query_one(Select).value = "failed"
        await pilot.pause()
        # The plan shown was for every status: it is withdrawn, and Archive with it.
        assert dialog.plan is None
        assert dialog.query_one("#apply", Button).disabled
        assert "Press Enter or Show plan" in plan_of(dialog)
        await pilot.click("#plan")
        await wait_until(pilot, lambda: dialog.plan is not None)
        assert "Would archive 1 failed session last modified" in plan_of(dialog)
        assert "completed" not in plan_of(dialog)
        await pilot.click("#apply")
        await wait_until(pilot, lambda: dialog.result is not None)
        assert not aged_sessions["failed"].exists()
        assert aged_sessions["completed"].exists()


async def test_a_bad_age_is_explained_and_nothing_can_be_archived(
    workspace: Workspace, aged_sessions: dict[str, Path]
) -> None:
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        dialog = await open_cleanup(pilot)
        age = dialog.query_one("#cleanup-age", Input)
        age.value = "ninety days"
        await pilot.press("enter")
        error = str(dialog.query_one("#cleanup-error", Static).render())
        assert error.startswith("bad duration 'ninety days'")
        assert dialog.query_one("#apply", Button).disabled
        age.value = "1000w"
        await pilot.press("enter")
        await wait_until(pilot, lambda: dialog.plan is not None)
        assert "No session last modified before" in plan_of(dialog)
        assert dialog.query_one("#apply", Button).disabled
        assert str(dialog.query_one("#cleanup-error", Static).render()) == ""
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, HistoryScreen)
    assert all(path.exists() for path in aged_sessions.values())


async def test_the_palette_command_opens_the_dialog(
    workspace: Workspace, aged_sessions: dict[str, Path]
) -> None:
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        history = await open_history(pilot)
        hits = [hit async for hit in SessionCommands(history).search("archive old")]
        assert str(hits[0].text) == "Archive old sessions…"
        await hits[0].command()
        dialog = await wait_for_screen(pilot, CleanupDialog)
        await wait_until(pilot, lambda: dialog.plan is not None)
        await pilot.press("escape")
        assert pilot.app.screen is history

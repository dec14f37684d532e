"""Notes and tags from the session's details: saved under the store's lock, shown at once."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input, Static, TextArea

from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.dialogs import NotesDialog, TagsDialog
from llmtool_tui.screens import DetailScreen, HelpScreen, HistoryScreen
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.pilots import open_detail, plain, terminal_output, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


def app_for(workspace: Workspace) -> StudioApp:
    # No watcher: what the detail shows after a save comes from the save itself.
    return make_app(Engine(workspace), watch=False)


def detail_text(detail: DetailScreen) -> str:
    return plain(detail.query_one("#detail-table", Static).content)


async def test_notes_are_saved_and_a_concurrent_status_update_survives(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    metadata = make_metadata(status="pending")
    metadata.notes = "first draft"
    path = store.create(metadata)
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        detail = await open_detail(pilot)
        await pilot.press("n")
        dialog = await wait_for_screen(pilot, NotesDialog)
        text = dialog.query_one(TextArea)
        assert text.text == "first draft"
        assert pilot.app.focused is text

        # The worker writes its status while the user types.
        def start(metadata: TrainingMetadata) -> None:
            metadata.execution_status.status = "running"
            metadata.execution_status.step = 7

        store.update(path, start)
        await pilot.press(*" and [bold]more[/bold]", "enter", *"line 2")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: pilot.app.screen is detail)
        saved = read_metadata(path)
        assert saved.notes == "first draft and [bold]more[/bold]\nline 2"
        assert saved.execution_status.status == "running"
        assert saved.execution_status.step == 7
        await wait_until(pilot, lambda: "line 2" in detail_text(detail))
        assert "[bold]more[/bold]" in detail_text(detail)


async def test_escape_leaves_the_notes_as_they_were(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    path = store.create(make_metadata())
    before = path.read_bytes()
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        detail = await open_detail(pilot)
        await pilot.press("n")
        await wait_for_screen(pilot, NotesDialog)
        await pilot.press(*"never saved", "escape")
        assert pilot.app.screen is detail
    assert path.read_bytes() == before


async def test_a_refused_save_is_shown_and_keeps_the_text(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    path = store.create(make_metadata())
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        await open_detail(pilot)
        await pilot.press("n")
        dialog = await wait_for_screen(pilot, NotesDialog)
        await pilot.press(*"keep me")
        path.unlink()
        await pilot.click("#save")
        error = dialog.query_one("#save-error", Static)
        await wait_until(pilot, lambda: "Not saved" in str(error.render()))
        assert "file not found" in str(error.render())
        assert pilot.app.screen is dialog
        assert dialog.query_one(TextArea).text == "keep me"


async def test_tags_are_normalised_as_typed_and_found_by_the_search(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    path = store.create(make_metadata())
    store.create(make_metadata(timestamp="20260102_120000"))
    async with app_for(workspace).run_test(size=(120, 36), notifications=True) as pilot:
        detail = await open_detail(pilot, "2")
        assert detail.path == path
        await pilot.press("t")
        dialog = await wait_for_screen(pilot, TagsDialog)
        assert dialog.query_one(Input).value == ""
        preview = dialog.query_one("#tags-preview", Static)
        assert "No tags" in str(preview.render())
        await pilot.press(*"paper,")
        dialog.query_one(Input).value += "  Baseline ,, PAPER, [x]"
        await pilot.pause()
        assert str(preview.render()) == "Saved as 3 tags: paper · Baseline · [x]"
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is detail)
        assert read_metadata(path).tags == ["paper", "Baseline", "[x]"]
        # The dialog closes at once: a notification says the tags were saved.
        await wait_until(
            pilot, lambda: "Tags of train_20260101_120000 saved." in terminal_output(pilot.app)
        )
        await wait_until(pilot, lambda: "paper, Baseline, [x]" in detail_text(detail))

        # Editing shows the saved tags; emptying the field removes them all.
        await pilot.press("t")
        dialog = await wait_for_screen(pilot, TagsDialog)
        assert dialog.query_one(Input).value == "paper, Baseline, [x]"

        await pilot.press("escape", "escape")
        history = await wait_for_screen(pilot, HistoryScreen)
        await pilot.press("slash")
        history.query_one("#filter", Input).value = "tag:baseline"
        await wait_until(pilot, lambda: history.shown_search is not None and not history.fetching)
        assert [row.path for row in history.query_one(SessionTable).shown_rows] == [path]


async def test_tags_and_notes_keys_are_listed_by_help_and_the_action_panel(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    store.create(make_metadata())
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        detail = await open_detail(pilot)
        actions = plain(detail.query_one("#detail-actions", Static).content)
        for line in ("n notes", "t tags", "x export"):
            assert line in actions
        await pilot.press("question_mark")
        help_screen = await wait_for_screen(pilot, HelpScreen)
        listed = {
            description for keys in help_screen.sections.values() for _, description, _ in keys
        }
        assert {"Notes", "Tags", "Export template"} <= listed

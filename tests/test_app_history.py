"""The options menu and the live history: listing, keys, filter, sort, empty states, live diff."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore, atomic_write_json
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, keep_running_notice, make_app
from llmtool_tui.dialogs import ImportTemplateDialog, MessageDialog
from llmtool_tui.screens import (
    DetailScreen,
    HelpScreen,
    HistoryScreen,
    NewSessionWizard,
    OptionsScreen,
)
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.pilots import terminal_output, wait_for_screen

BuildMetadata = Callable[..., TrainingMetadata]


def add_session(
    store: SessionStore,
    make_metadata: BuildMetadata,
    timestamp: str,
    *,
    mtime: float | None = None,
    **fields: str,
) -> Path:
    """Create a session through the store, with a given modification time (its history order)."""
    path = store.create(make_metadata(timestamp=timestamp, **fields))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def three_sessions(store: SessionStore, make_metadata: BuildMetadata) -> list[Path]:
    """Three sessions, the first one newest."""
    base = time.time() - 1000
    return [
        add_session(store, make_metadata, "20251005_120000", mtime=base + 30, status="completed"),
        add_session(
            store,
            make_metadata,
            "20251004_120000",
            mtime=base + 20,
            status="failed",
            mode="benchmark",
            dataset="/data/[red]markup.csv",
        ),
        add_session(store, make_metadata, "20251003_120000", mtime=base + 10, model="flaubert"),
    ]


def app_for(workspace: Workspace, *, watch: bool = True) -> StudioApp:
    return make_app(Engine(workspace), watch=watch)


def table_of(app: StudioApp) -> SessionTable:
    return app.screen.query_one(SessionTable)


def shown_ids(app: StudioApp) -> list[str]:
    return [row.session_id or row.path.name for row in table_of(app).shown_rows]


def cursor_id(app: StudioApp) -> str | None:
    row = table_of(app).cursor_history_row
    return row.session_id if row else None


async def open_history(pilot: Pilot[None]) -> StudioApp:
    app = pilot.app
    assert isinstance(app, StudioApp)
    await pilot.press("1")
    await wait_until(
        pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.history is not None
    )
    return app


def status_cells(app: StudioApp) -> list[str]:
    table = table_of(app)
    return [table.get_cell(row.key, "status").__rich__().plain for row in table.shown_rows]


async def test_options_menu_by_digit_and_by_arrows(workspace: Workspace) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = pilot.app
        assert isinstance(app.screen, OptionsScreen)
        # Option 2 opens the New Training Session wizard; escape on its first step leaves it.
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(app.screen, NewSessionWizard))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, OptionsScreen))
        # Arrows + Enter: the first option is highlighted; down twice then up once is option 2.
        await pilot.press("down", "down", "up", "up", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))


async def test_history_lists_newest_first_in_the_specification_form(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        title = app.screen.query_one("#history-title", Static).render()
        assert str(title) == "Previous Training Sessions (20 most recent)"
        table = table_of(app)
        assert [str(column.label) for column in table.ordered_columns] == [
            "#", "Date", "Mode", "Dataset", "Model", "Status", "Best F1",
        ]  # fmt: skip
        assert shown_ids(app) == ["train_20251005_120000", "train_20251004_120000",
                                  "train_20251003_120000"]  # fmt: skip
        assert status_cells(app) == ["✓ completed", "✗ failed", "⏸ pending"]
        first = table.shown_rows[0]
        # At 80 columns the day alone, so that the names keep their room (the time at 120).
        assert table.get_cell(first.key, "date").plain == "2025-10-05"
        # A dataset name with brackets is shown literally, not read as markup.
        second = table.shown_rows[1]
        cell = table.get_cell(second.key, "dataset")
        assert cell.plain == "[red]markup.csv"
        assert cell.__rich__().plain.startswith("[red]mark")


async def test_unreadable_files_are_listed_with_their_reason(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    broken = workspace.sessions_dir / "training_metadata_broken.json"
    broken.write_text("{not json", encoding="utf-8")
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        assert shown_ids(app)[0] == "training_metadata_broken.json"
        assert len(shown_ids(app)) == 4
        info = app.screen.query_one("#row-info", Static).render()
        assert "cannot be read: invalid JSON at line 1" in str(info)
        await pilot.press("enter")
        assert isinstance(app.screen, MessageDialog)
        assert "invalid JSON" in app.screen.body.plain


async def test_keys_move_and_open_sessions(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("j", "j")
        assert cursor_id(app) == "train_20251003_120000"
        await pilot.press("k")
        assert cursor_id(app) == "train_20251004_120000"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.path == three_sessions[1]
        await pilot.press("escape")
        assert isinstance(app.screen, HistoryScreen)
        # The row number opens the detail directly.
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.path == three_sessions[2]
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, OptionsScreen)


async def test_a_two_digit_number_waits_for_its_second_digit(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    base = time.time() - 1000
    paths = [
        add_session(store, make_metadata, f"202510{day:02d}_120000", mtime=base - day)
        for day in range(1, 13)
    ]
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("1", "2")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.path == paths[11]
        await pilot.press("escape")
        # "1" alone could become "10", "11" or "12": it opens after a short pause.
        await pilot.press("1")
        assert isinstance(app.screen, HistoryScreen)
        assert cursor_id(app) == "train_20251001_120000"
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.path == paths[0]


async def test_toggle_all_lists_more_than_twenty(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    base = time.time() - 1000
    for index in range(23):
        add_session(store, make_metadata, f"20251001_1200{index:02d}", mtime=base + index)
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        assert table_of(app).row_count == 20
        status = str(app.screen.query_one("#history-status", Static).render())
        assert "20 of 23 files · a shows all" in status
        await pilot.press("a")
        await wait_until(pilot, lambda: table_of(app).row_count == 23)
        title = str(app.screen.query_one("#history-title", Static).render())
        assert title == "Previous Training Sessions (all 23)"
        await pilot.press("a")
        await wait_until(pilot, lambda: table_of(app).row_count == 20)


async def search_done(pilot: Pilot[None], described: str) -> None:
    """Wait until the history shown is the one of the search ``described`` (``""``: none)."""
    screen = pilot.app.screen
    assert isinstance(screen, HistoryScreen)

    def done() -> bool:
        shown = screen.shown_search.describe() if screen.shown_search else ""
        return shown == described and not screen.fetching

    await wait_until(pilot, done)


async def test_search_narrows_the_rows_and_escape_clears_it(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("slash", *"flaubert")
        await search_done(pilot, "flaubert")
        assert shown_ids(app) == ["train_20251003_120000"]
        title = str(app.screen.query_one("#history-title", Static).render())
        assert title == "Previous Training Sessions (search: flaubert)"
        status = str(app.screen.query_one("#history-status", Static).render())
        assert "1 match · Esc clears" in status
        await pilot.press("enter")
        assert app.focused is table_of(app)
        await pilot.press("escape")
        await search_done(pilot, "")
        assert len(shown_ids(app)) == 3
        assert not app.screen.query_one("#filter", Input).display
        title = str(app.screen.query_one("#history-title", Static).render())
        assert title == "Previous Training Sessions (20 most recent)"
        await pilot.press("escape")
        assert isinstance(app.screen, OptionsScreen)


async def test_search_by_fields_looks_through_every_session_not_only_those_shown(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    base = time.time() - 1000
    # The one failed session is older than the 20 most recent listed.
    old_failure = make_metadata("20250101_120000", status="failed", dataset="/data/debates.csv")
    old_failure.tags = ["paper"]
    path = store.create(old_failure)
    os.utime(path, (base - 100, base - 100))
    for index in range(22):
        add_session(store, make_metadata, f"20251001_1200{index:02d}", mtime=base + index)
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        assert "train_20250101_120000" not in shown_ids(app)
        await pilot.press("slash")
        # Set at once: typed key by key, each prefix would be a search of all 23 files.
        search = app.screen.query_one("#filter", Input)
        search.value = "status:failed dataset:debates tag:PAPER after:2025-01-01"
        await search_done(pilot, "status:failed dataset:debates tag:PAPER after:2025-01-01")
        assert shown_ids(app) == ["train_20250101_120000"]
        # It keeps its history number: typing it opens it.
        assert table_of(app).shown_rows[0].index == 23
        search.value = "model:nothing-like-this"
        await search_done(pilot, "model:nothing-like-this")
        message = str(app.screen.query_one("#history-message", Static).render())
        assert "No session matches the search" in message
        assert "matches none of the 23 session files" in message
        assert not table_of(app).display


async def test_a_bad_search_shows_its_error_inline_and_keeps_the_rows(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("slash", *"status:failed")
        await search_done(pilot, "status:failed")
        assert shown_ids(app) == ["train_20251004_120000"]
        error = app.screen.query_one("#filter-error", Static)
        assert not error.display
        filter_input = app.screen.query_one("#filter", Input)
        filter_input.value = "status:failed colour:red"
        await pilot.pause()
        assert error.display
        assert str(error.render()).startswith("unknown filter field 'colour'")
        assert "valid fields: status, model" in str(error.render())
        # The rows of the last valid search stay.
        assert shown_ids(app) == ["train_20251004_120000"]
        filter_input.value = "status:failed"
        await pilot.pause()
        assert not error.display
        await pilot.press("escape")
        await search_done(pilot, "")
        assert len(shown_ids(app)) == 3


async def test_sorting_by_column_keeps_the_cursor_on_its_session(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("j")
        assert cursor_id(app) == "train_20251004_120000"
        # o cycles Best F1 → Date → Mode → Dataset → Model → Status.
        await pilot.press("o", "o", "o")
        table = table_of(app)
        assert table.sort_column == "mode"
        assert [row.mode for row in table.shown_rows] == ["benchmark", "quick", "quick"]
        assert cursor_id(app) == "train_20251004_120000"
        await pilot.press("O")
        assert [row.mode for row in table.shown_rows] == ["quick", "quick", "benchmark"]
        assert cursor_id(app) == "train_20251004_120000"
        status = str(app.screen.query_one("#history-status", Static).render())
        assert "sorted by mode (reversed)" in status


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        ("no-directory", "does not exist yet"),
        ("empty", "holds no session file"),
        ("all-unreadable", "None of the 2 session files could be read"),
    ],
)
async def test_empty_and_error_states_say_what_to_do(
    tmp_path: Path, prepare: str, expected: str
) -> None:
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    if prepare != "no-directory":
        workspace.ensure()
    if prepare == "all-unreadable":
        (workspace.sessions_dir / "a.json").write_text("[]", encoding="utf-8")
        (workspace.sessions_dir / "b.json").write_text("", encoding="utf-8")
    # No watcher: it would create the missing directory.
    async with app_for(workspace, watch=False).run_test() as pilot:
        app = await open_history(pilot)
        message = str(app.screen.query_one("#history-message", Static).render())
        assert "No training sessions found" in message or "could be read" in message
        assert expected in message
        if prepare == "all-unreadable":
            assert table_of(app).display
            assert "JSON validator" in message
        else:
            assert "New Training Session" in message
            assert not table_of(app).display


async def test_live_history_adds_updates_and_removes_rows_in_place(
    workspace: Workspace,
    store: SessionStore,
    make_metadata: BuildMetadata,
    three_sessions: list[Path],
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("j")
        assert cursor_id(app) == "train_20251004_120000"
        table = table_of(app)
        cleared: list[bool] = []
        table.clear = lambda columns=False: cleared.append(True) or table

        # A file dropped in by another process appears, newest first; the cursor stays put.
        add_session(store, make_metadata, "20251006_120000")
        await wait_until(pilot, lambda: "train_20251006_120000" in shown_ids(app))
        assert shown_ids(app)[0] == "train_20251006_120000"
        assert cursor_id(app) == "train_20251004_120000"

        # A status written by a worker updates its row in place (and the row moves up: its
        # file is now the newest).
        def fail(metadata: TrainingMetadata) -> None:
            metadata.execution_status.status = "failed"

        store.update(three_sessions[2], fail)
        await wait_until(pilot, lambda: shown_ids(app)[0] == "train_20251003_120000")
        assert status_cells(app)[0] == "✗ failed"
        assert cursor_id(app) == "train_20251004_120000"

        # A deleted file disappears.
        three_sessions[0].unlink()
        await wait_until(pilot, lambda: "train_20251005_120000" not in shown_ids(app))
        assert cursor_id(app) == "train_20251004_120000"
        assert cleared == []


async def test_a_collaborators_file_dropped_in_shows_its_text_literally(
    workspace: Workspace, example_document: dict[str, Any], three_sessions: list[Path]
) -> None:
    document = json.loads(json.dumps(example_document))
    document["dataset_config"]["primary_file"] = "C:\\data\\[bold]survey.csv"
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        atomic_write_json(workspace.sessions_dir / "from_a_colleague.json", document)
        await wait_until(pilot, lambda: "train_20251005_234530" in shown_ids(app))
        table = table_of(app)
        row = next(r for r in table.shown_rows if r.session_id == "train_20251005_234530")
        assert row.dataset == "[bold]survey.csv"


async def test_a_filter_typed_quickly_after_the_slash_loses_no_key(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        # All queued at once, as a fast typist's keys are: the focus moves after "/" while the
        # rest are already on their way to the table.
        for key in ("slash", "f", "l", "a", "u"):
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        await wait_until(pilot, lambda: app.screen.query_one("#filter", Input).value == "flau")
        await search_done(pilot, "flau")
        assert shown_ids(app) == ["train_20251003_120000"]


async def test_no_color_keeps_status_readable_by_symbol_and_word(
    workspace: Workspace, three_sessions: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(workspace)
    assert app.no_color
    async with app.run_test() as pilot:
        await open_history(pilot)
        table = table_of(app)
        texts = [table.get_cell(row.key, "status").__rich__() for row in table.shown_rows]
        assert [text.plain for text in texts] == ["✓ completed", "✗ failed", "⏸ pending"]
        assert {str(text.style) for text in texts} == {"bold"}


def set_best_f1(store: SessionStore, path: Path, best_f1: float | None) -> None:
    """Record a best F1 without moving the session (as an annotation would not)."""

    def record(metadata: TrainingMetadata) -> None:
        metadata.execution_status.best_f1 = best_f1

    store.update(path, record, keep_mtime=True)


def cell_text(app: StudioApp, row_number: int, column: str) -> str:
    table = table_of(app)
    return table.get_cell(table.shown_rows[row_number].key, column).__rich__().plain


async def test_best_f1_column_sorts_best_first_with_o_and_sessions_without_one_last(
    workspace: Workspace, store: SessionStore, three_sessions: list[Path]
) -> None:
    set_best_f1(store, three_sessions[0], 0.71)
    set_best_f1(store, three_sessions[2], 0.9)
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        assert [cell_text(app, row, "best_f1") for row in range(3)] == ["0.710", "-", "0.900"]
        status = app.screen.query_one("#history-status", Static)
        assert "sorted by newest first · o sorts by best F1" in str(status.render())
        await pilot.press("o")
        assert shown_ids(app) == [
            "train_20251003_120000", "train_20251005_120000", "train_20251004_120000",
        ]  # fmt: skip
        assert "sorted by best F1 · o sorts by date" in str(status.render())
        # Reversed: the worst first, and still no F1 last.
        await pilot.press("O")
        assert shown_ids(app) == [
            "train_20251005_120000", "train_20251003_120000", "train_20251004_120000",
        ]  # fmt: skip
        assert "sorted by best F1 (reversed)" in str(status.render())
        # The keys are listed by help with what they do.
        await pilot.press("question_mark")
        help_screen = await wait_for_screen(pilot, HelpScreen)
        listed = {
            (keys, description)
            for section in help_screen.sections.values()
            for keys, description, _ in section
        }
        assert {
            ("o", "Sort by best F1, then by each column"),
            ("home ^home", "First session"),
            ("end ^end", "Last session"),
            ("space", "Mark ↓"),
        } <= listed


async def test_at_80_columns_a_model_shows_by_its_name_and_the_time_comes_back_at_120(
    workspace: Workspace, store: SessionStore, make_metadata: BuildMetadata
) -> None:
    base = time.time() - 1000
    add_session(store, make_metadata, "20251005_120000", mtime=base + 3,
                model="/home/researcher/checkpoints/runs/demo-bert")  # fmt: skip
    add_session(store, make_metadata, "20251004_120000", mtime=base + 2,
                model="FacebookAI/xlm-roberta-base")  # fmt: skip
    add_session(store, make_metadata, "20251003_120000", mtime=base + 1, model="camembert-base")
    async with app_for(workspace).run_test(size=(80, 24)) as pilot:
        app = await open_history(pilot)
        models = [cell_text(app, row, "model") for row in range(3)]
        # Never a cut path or organisation: the directory's name, the model's own name.
        assert models[0] == "demo-bert"
        assert models[1].startswith("xlm-rob") and "Facebook" not in models[1]
        assert models[2].startswith("camembe")
        assert cell_text(app, 0, "date") == "2025-10-05"
        table = table_of(app)
        assert table.virtual_size.width <= 80
        await pilot.resize_terminal(120, 36)
        await wait_until(pilot, lambda: cell_text(app, 0, "date") == "2025-10-05 12:00")
        # The whole hub id where it fits (27 characters need more than 120 columns).
        assert [cell_text(app, row, "model") for row in range(3)] == [
            "demo-bert", "xlm-roberta-base", "camembert-base",
        ]  # fmt: skip
        await pilot.resize_terminal(160, 36)
        await wait_until(pilot, lambda: cell_text(app, 1, "model") == "FacebookAI/xlm-roberta-base")


async def test_space_marks_home_and_end_move_and_marks_survive_a_search(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = table_of(app)
        # The footer says that marking moves to the next row.
        drawn = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", terminal_output(app))
        assert re.search(r"space +Mark ↓", drawn)
        await pilot.press("space")
        assert cursor_id(app) == "train_20251004_120000"
        await pilot.press("end")
        assert cursor_id(app) == "train_20251003_120000"
        await pilot.press("space", "home")
        assert cursor_id(app) == "train_20251005_120000"
        marked = {str(three_sessions[0]), str(three_sessions[2])}
        assert table.marked == marked

        # A search that hides one of them, then cleared: both are still marked.
        await pilot.press("slash", *"status:completed")
        await search_done(pilot, "status:completed")
        assert shown_ids(app) == ["train_20251005_120000"]
        status = history.query_one("#history-status", Static)
        assert "2 marked · c compares" in str(status.render())
        await pilot.press("enter", "escape")
        await search_done(pilot, "")
        assert table.marked == marked
        assert [cell_text(app, row, "index").startswith("●") for row in range(3)] == [
            True,
            False,
            True,
        ]


async def test_after_an_import_the_cursor_is_on_the_imported_session(
    workspace: Workspace,
    tmp_path: Path,
    store: SessionStore,
    make_metadata: BuildMetadata,
    three_sessions: list[Path],
) -> None:
    template = tmp_path / "shared.template.json"
    theirs = make_metadata("20240101_090000", dataset="/elsewhere/debates.csv")
    template.write_text(json.dumps(theirs.to_document()), encoding="utf-8")
    async with app_for(workspace).run_test(size=(120, 36)) as pilot:
        app = await open_history(pilot)
        # Sorted by dataset, the cursor on the last row: the new session lands elsewhere.
        await pilot.press("o", "o", "o", "o", "end")
        await pilot.press("i")
        dialog = await wait_for_screen(pilot, ImportTemplateDialog)
        dialog.query_one("#import-file", Input).value = str(template)
        await pilot.click("#import")
        message = await wait_for_screen(pilot, MessageDialog)
        assert message.title_text == "Template imported"
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(shown_ids(app)) == 4)
        imported = table_of(app).cursor_history_row
        assert imported is not None and imported.dataset == "debates.csv"
        assert imported.path not in three_sessions


async def test_a_note_saved_elsewhere_updates_its_row_in_place(
    workspace: Workspace, three_sessions: list[Path]
) -> None:
    async with app_for(workspace).run_test() as pilot:
        app = await open_history(pilot)
        await pilot.press("j")
        before = {row.key: row.stat for row in table_of(app).shown_rows}
        order = shown_ids(app)
        # Another app instance (or `llmtool-tui` in another terminal) tags the oldest session.
        Engine(workspace).save_notes(three_sessions[2], notes="to rerun", tags=["paper"])
        key = str(three_sessions[2])
        await wait_until(
            pilot,
            lambda: any(
                row.key == key and row.stat != before[key] for row in table_of(app).shown_rows
            ),
        )
        assert shown_ids(app) == order
        assert cursor_id(app) == "train_20251004_120000"
        await pilot.press("slash", *"tag:paper")
        await search_done(pilot, "tag:paper")
        assert shown_ids(app) == ["train_20251003_120000"]


def test_the_quit_question_agrees_with_the_number_of_sessions() -> None:
    assert keep_running_notice(["train_1"]) == (
        "1 training session is running (train_1). It keeps running after you quit; open"
        " llmtool-tui again to follow it."
    )
    assert keep_running_notice(["a", "b", "c", "d", "e"]).startswith(
        "5 training sessions are running (a, b, c and 2 more). They keep running"
    )

"""Control characters from files never reach the terminal: they are shown escaped, everywhere.

Session files, progress logs and datasets are written by anyone. Each hostile string below holds
an ``ESC[2J`` (clear the screen), an OSC title and an OSC 52 clipboard write, BEL, CR, backspace,
a right-to-left override and a C1 CSI, after a marker naming where it was put. Every screen and
dialog that shows such text is drawn, and the bytes a terminal would receive
(``tests.pilots.terminal_output``) must hold none of them raw, and show the escaped form
(``\\x1b[2JCLR…``) instead. The commands' human output is held to the same rule; their ``--json``
output gives back the exact strings.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from engine.facade import Engine
from engine.filters import normalize_tags
from engine.progress import (
    CheckpointSaved,
    EvaluationDone,
    LogLine,
    ModelStarted,
    ProgressWriter,
    StatusChanged,
    StepLogged,
)
from engine.sessions.sample_data import generate_rows
from engine.store import atomic_write_json, read_metadata
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.cli import main
from llmtool_tui.dialogs import (
    CleanupDialog,
    ConfirmDialog,
    ExportTemplateDialog,
    ImportTemplateDialog,
    LocateDatasetDialog,
    MessageDialog,
    NotesDialog,
    RelaunchEditDialog,
    TagsDialog,
)
from llmtool_tui.messages import RelaunchRequested, ResumeRequested
from llmtool_tui.screens import CompareScreen, MonitorScreen, PerformanceScreen
from llmtool_tui.screens.wizard import STEP_IDS, NewSessionWizard
from llmtool_tui.screens.wizard.dataset_browser import DatasetBrowser, DatasetTree
from llmtool_tui.screens.wizard.path_suggester import complete_path
from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets import SessionTable
from tests.fakes import IDLE_MODULE, idle_process, running_as
from tests.pilots import open_detail, open_history, terminal_output, wait_for_screen

CLEAR = "\x1b[2JCLR"
TITLE = "\x1b]0;TITLE\x07"
CLIPBOARD = "\x1b]52;c;SGVsbG8=\x07"
OTHERS = "\x07BEL\rCR\x08BS\u202eRLO\x9bC1"
#: What must never reach the terminal raw. Textual writes CSI sequences of its own, so the
#: escape sequences are looked for with their markers; BEL, BS, CR, the override and the C1 CSI
#: are never written by Textual, so they are looked for alone.
RAW = (CLEAR, "\x1b]0;TITLE", "\x1b]52;", "\x07", "\x08", "\r", "\u202e", "\x9b")
SIZE = (200, 60)
#: The first analysis of a test session imports pandas and scikit-learn.
ANALYSIS_TIMEOUT_S = 60.0
RUNNING = "20260102_120000"
FAILED = "20260101_120000"


def hostile(marker: str) -> str:
    """Every payload, after the screen-clearing one and ``marker``, which says where it was put."""
    return f"{CLEAR}{marker}{TITLE}{CLIPBOARD}{OTHERS}"


def hostile_header(marker: str) -> str:
    """A hostile CSV column name: without the OSC sequences, whose ``;`` the reader would take
    for the delimiter of the header line."""
    return f"{CLEAR}{marker}{OTHERS}"


def escaped(marker: str) -> str:
    """How the start of ``hostile(marker)`` is shown: escaped, so ``ESC`` reads ``\\x1b``."""
    return f"\\x1b[2JCLR{marker}"


def assert_safe(stream: str) -> None:
    """No payload reaches the terminal as a control character."""
    for payload in RAW:
        assert payload not in stream, f"{payload!r} reached the terminal"


def assert_shown(stream: str, *markers: str) -> None:
    """The terminal stream is safe and shows each of ``markers``' strings, escaped."""
    assert_safe(stream)
    for marker in markers:
        assert escaped(marker) in stream, f"{escaped(marker)!r} is not shown"


SESSION_A = hostile("sid-a")
SESSION_B = hostile("sid-b")
UNREADABLE_NAME = f"training_metadata_{hostile('file')}.json"


def hostile_document(
    example: dict[str, Any], timestamp: str, session_id: str, letter: str
) -> dict[str, Any]:
    document = json.loads(json.dumps(example))
    document["training_session"].update(timestamp=timestamp, session_id=session_id)
    document["dataset_config"]["primary_file"] = f"/data/{hostile(f'dataset-{letter}')}.csv"
    document["dataset_config"]["category_distribution"] = {hostile(f"category-{letter}"): 3}
    document["model_config"]["selected_model"] = hostile(f"model-{letter}")
    document["notes"] = f"{hostile(f'notes-{letter}')}\nsecond line"
    document["tags"] = [hostile(f"tag-{letter}")]
    document[hostile("extra-key")] = hostile("extra-value")
    return document


@pytest.fixture
def hostile_workspace(
    workspace: Workspace, example_document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A running session (A, run by an idle process), a failed one (B), an unreadable file."""
    # The idle process stands for A's worker (and is all that a stop could ever signal).
    monkeypatch.setattr("engine.facade.WORKER_MODULE", IDLE_MODULE)
    files = workspace.sessions_dir
    running_file = files / f"training_metadata_{RUNNING}.json"
    with idle_process(running_file) as worker:
        running = hostile_document(example_document, RUNNING, SESSION_A, "a")
        running["execution_status"] = running_as(worker)
        write_hostile_files(workspace, running, example_document)
        yield workspace


def write_hostile_files(
    workspace: Workspace, running: dict[str, Any], example_document: dict[str, Any]
) -> None:
    failed = hostile_document(example_document, FAILED, SESSION_B, "b")
    failed["execution_status"] = {
        "status": "failed",
        "best_f1": 0.8,
        "best_model": hostile("best-model"),
        "error_message": hostile("error"),
    }
    files = workspace.sessions_dir
    for age, (name, document) in enumerate(
        [
            (f"training_metadata_{RUNNING}.json", running),
            (f"training_metadata_{FAILED}.json", failed),
        ]
    ):
        atomic_write_json(files / name, document)
        os.utime(files / name, (1_700_000_000 - age, 1_700_000_000 - age))
    unreadable = files / UNREADABLE_NAME
    unreadable.write_text("{not json", encoding="utf-8")
    os.utime(unreadable, (1_600_000_000, 1_600_000_000))

    engine = Engine(workspace)
    writer = ProgressWriter(engine.progress_path(SESSION_A))
    try:
        for event in (
            StatusChanged(status="running", message=hostile("status")),
            ModelStarted(model=hostile("model-a")),
            StepLogged(model=hostile("model-a"), step=5, max_steps=10, loss=0.5),
            EvaluationDone(model=hostile("eval-a"), step=5, epoch=1.0, macro_f1=0.7,
                           per_class_f1={hostile("class"): 0.7}),
            CheckpointSaved(step=5, path=hostile("checkpoint")),
            LogLine(level="warning", message=f"{hostile('log')}\nthe next line"),
        ):  # fmt: skip
            writer.write(event)
    finally:
        writer.close()
    writer = ProgressWriter(engine.progress_path(SESSION_B))
    try:
        writer.write(
            EvaluationDone(model=hostile("eval-b"), step=5, epoch=1.0, macro_f1=0.8,
                           per_class_f1={hostile("class"): 0.8})
        )  # fmt: skip
    finally:
        writer.close()


def app_for(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace), watch=False)


async def shown(pilot: Pilot[None]) -> str:
    """The terminal stream once what was just asked for is drawn."""
    await pilot.pause()
    return terminal_output(pilot.app)


# -- the app -----------------------------------------------------------------------------------


async def test_history_rows_row_info_and_the_unreadable_file(
    hostile_workspace: Workspace,
) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        stream = await shown(pilot)
        assert_shown(stream, "dataset-a", "model-a", "dataset-b", "model-b", "file", "sid-a")

        table = history.query_one(SessionTable)
        unreadable = next(row for row in table.shown_rows if row.error is not None)
        table.move_cursor(row=table.get_row_index(unreadable.key))
        assert_shown(await shown(pilot), "file")
        history.open_row(unreadable)
        await wait_for_screen(pilot, MessageDialog)
        assert_shown(await shown(pilot), "file")


async def test_detail_shows_every_value_escaped(hostile_workspace: Workspace) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await open_detail(pilot, "2")
        stream = await shown(pilot)
        assert_shown(stream, "sid-b", "dataset-b", "model-b", "error", "notes-b", "tag-b")
        # Notes keep their lines: a newline is not a control character to them.
        assert "second line" in stream


@pytest.mark.parametrize(
    ("key", "dialog", "markers"),
    [
        ("n", NotesDialog, ("sid-a", "notes-a")),
        ("t", TagsDialog, ("sid-a", "tag-a")),
        ("x", ExportTemplateDialog, ("sid-a",)),
        ("e", RelaunchEditDialog, ("sid-a", "dataset-a", "model-a")),
        ("s", ConfirmDialog, ("sid-a",)),
    ],
)
async def test_the_detail_screen_dialogs(
    hostile_workspace: Workspace, key: str, dialog: type[Screen[Any]], markers: tuple[str, ...]
) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await open_detail(pilot, "1")
        await pilot.press(key)
        await wait_for_screen(pilot, dialog)
        assert_shown(await shown(pilot), *markers)
        await pilot.press("escape")


async def test_saving_notes_and_tags_unchanged_keeps_them_exact(
    hostile_workspace: Workspace,
) -> None:
    """The editors show the escaped text; what was not edited is saved as it was, not escaped."""
    path = hostile_workspace.sessions_dir / f"training_metadata_{FAILED}.json"
    before = read_metadata(path)
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, "2")
        for key, dialog in (("n", NotesDialog), ("t", TagsDialog)):
            await pilot.press(key)
            await wait_for_screen(pilot, dialog)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: pilot.app.screen is detail)
    after = read_metadata(path)
    assert after.notes == before.notes
    # Saving normalises tags (whitespace, CR included, is collapsed), and only that.
    assert after.tags == normalize_tags(before.tags)


async def test_export_replace_question(hostile_workspace: Workspace) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await open_detail(pilot, "1")
        await pilot.press("x")
        export = await wait_for_screen(pilot, ExportTemplateDialog)
        output = hostile_workspace.root / "existing.json"
        output.write_text("{}", encoding="utf-8")
        export.query_one("#export-path", Input).value = str(output)
        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmDialog)
        assert_shown(await shown(pilot), "sid-a")


async def test_live_view_and_its_log(hostile_workspace: Workspace) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await open_detail(pilot, "1")
        await pilot.press("m")
        monitor = await wait_for_screen(pilot, MonitorScreen)
        await wait_until(pilot, lambda: monitor.events_seen == 6 and monitor.status is not None)
        stream = await shown(pilot)
        assert_shown(stream, "sid-a", "model-a", "eval-a", "checkpoint", "log", "status")
        assert "the next line" in stream


async def test_compare_and_the_performance_chart(hostile_workspace: Workspace) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await open_history(pilot)
        await pilot.press("space", "space", "c")
        compare = await wait_for_screen(pilot, CompareScreen)
        await wait_until(pilot, lambda: compare.comparison is not None)
        # The sessions' ids head the columns and name the curves (the legend); the results,
        # first, name the evaluations' class.
        assert_shown(await shown(pilot), "sid-a", "sid-b", "class", "dataset-a", "model-b")

        await pilot.press("escape", "g")
        chart = await wait_for_screen(pilot, PerformanceScreen)
        await wait_until(pilot, lambda: chart.scores is not None)
        assert_shown(await shown(pilot), "dataset-b")
        await pilot.press("g")
        assert_shown(await shown(pilot), "best-model")


async def test_quit_lists_the_running_session(hostile_workspace: Workspace) -> None:
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await wait_for_screen(pilot, ConfirmDialog)
        assert_shown(await shown(pilot), "sid-a")
        await pilot.press("n")


async def test_errors_of_the_engine_are_shown_escaped(hostile_workspace: Workspace) -> None:
    """A refused resume is notified; a relaunch of a moved dataset asks for it."""
    files = hostile_workspace.sessions_dir
    async with app_for(hostile_workspace).run_test(size=SIZE, notifications=True) as pilot:
        app = pilot.app
        app.post_message(ResumeRequested(files / f"training_metadata_{RUNNING}.json"))
        # "already running; stop it first", with the id; the toast is drawn after a refresh.
        await wait_until(pilot, lambda: escaped("sid-a") in terminal_output(app))
        assert_shown(await shown(pilot), "sid-a")

        app.post_message(RelaunchRequested(files / f"training_metadata_{FAILED}.json"))
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_for_screen(pilot, LocateDatasetDialog)
        assert_shown(await shown(pilot), "dataset-b")


async def test_cleanup_and_import_dialogs(hostile_workspace: Workspace) -> None:
    source = hostile_workspace.sessions_dir / f"training_metadata_{FAILED}.json"
    async with app_for(hostile_workspace).run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        await pilot.press("ctrl+d")
        cleanup = await wait_for_screen(pilot, CleanupDialog)
        await wait_until(pilot, lambda: cleanup.plan is not None)
        # B would be archived; the running A and the unreadable file are left, with why.
        assert_shown(await shown(pilot), "sid-b", "file")
        await pilot.press("escape")

        await wait_until(pilot, lambda: pilot.app.screen is history)
        await pilot.press("i")
        dialog = await wait_for_screen(pilot, ImportTemplateDialog)
        dialog.query_one("#import-file", Input).value = str(source)
        await pilot.press("enter")
        await wait_for_screen(pilot, MessageDialog)
        assert_shown(await shown(pilot), "sid-b")


# -- the wizard --------------------------------------------------------------------------------


def hostile_csv(directory: Path) -> Path:
    """Sentences with a hostile column name, label and cell, in a file with a hostile name.

    Few enough control characters that the file is still taken for text (the reader refuses a
    file with more than 1% of them as binary).
    """
    label_column = f"label{hostile_header('column')}"
    path = directory / f"{hostile('csv')}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", label_column])
        for number, row in enumerate(generate_rows(200, seed=7)):
            text = f"{hostile('cell')} {row['text']}" if number == 0 else row["text"]
            label = hostile("label") if number < 4 else row["label"]
            writer.writerow([text, label])
    return path


async def analysed(pilot: Pilot[None], wizard: NewSessionWizard) -> None:
    await pilot.pause()
    await wait_until(pilot, lambda: not wizard.analysis_running, ANALYSIS_TIMEOUT_S)
    await pilot.pause()


async def test_wizard_browser_columns_preview_and_analysis(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    data = hostile_csv(folder)
    monkeypatch.chdir(folder)  # where the browser opens when nothing was typed
    async with app_for(workspace).run_test(size=SIZE) as pilot:
        app = pilot.app
        app.action_new_session()
        wizard = await wait_for_screen(pilot, NewSessionWizard)
        await wait_until(pilot, lambda: wizard.focused is not None)
        # Without the sample dataset a new user is offered, the browser opens here.
        await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
        wizard.query_one("#dataset-path", Input).value = ""
        await pilot.press("ctrl+o")
        browser = await wait_for_screen(pilot, DatasetBrowser)
        tree = browser.query_one(DatasetTree)
        await wait_until(pilot, lambda: len(tree.root.children) == 1)
        assert_shown(await shown(pilot), "csv")

        # Picked: the field shows the name escaped, and the file itself is analysed.
        tree.select_node(tree.root.children[0])
        await wait_until(pilot, lambda: app.screen is wizard)
        await analysed(pilot, wizard)
        assert wizard.state.dataset_path == data
        assert STEP_IDS[wizard.step_index] == "columns"
        # The column's name in its list and the preview's header, a label and a cell below.
        assert_shown(await shown(pilot), "column", "cell", "label")

        await pilot.press("enter")
        assert STEP_IDS[wizard.step_index] == "analysis"
        # The file's name, the label column and the labels' bars.
        assert_shown(await shown(pilot), "csv", "column", "label")


def test_path_completion_never_offers_a_name_with_control_characters(tmp_path: Path) -> None:
    (tmp_path / f"data{hostile_header('name')}.csv").write_text("x")
    (tmp_path / "data.csv").write_text("x")
    assert complete_path(f"{tmp_path}/da") == f"{tmp_path}/data.csv"


# -- the commands ------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal for Rich, so that no escaped value is folded over two lines."""
    monkeypatch.setenv("COLUMNS", "400")


@pytest.mark.usefixtures("wide")
@pytest.mark.parametrize(
    ("args", "markers"),
    [
        (("sessions",), ("dataset-a", "model-b", "file")),
        (("show", "2"), ("sid-b", "dataset-b", "error", "notes-b", "tag-b")),
    ],
)
def test_human_output_of_the_commands(
    hostile_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    markers: tuple[str, ...],
) -> None:
    code, out, err = run(capsys, *args, "--workspace", str(hostile_workspace.root))
    assert code == 0, err
    assert_shown(out + err, *markers)


def test_json_output_is_exact_and_safe(
    hostile_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--workspace", str(hostile_workspace.root))
    code, out, err = run(capsys, "sessions", "--json", *where)
    assert code == 0, err
    assert_safe(out)
    rows = json.loads(out)["sessions"]
    assert {row["session_id"] for row in rows} == {SESSION_A, SESSION_B}
    assert {row["model"] for row in rows} == {hostile("model-a"), hostile("model-b")}

    code, out, err = run(capsys, "show", "2", "--json", *where)
    assert code == 0, err
    assert_safe(out)
    metadata = json.loads(out)["metadata"]
    assert metadata["training_session"]["session_id"] == SESSION_B
    assert metadata["notes"] == f"{hostile('notes-b')}\nsecond line"
    assert metadata["execution_status"]["error_message"] == hostile("error")
    assert metadata[hostile("extra-key")] == hostile("extra-value")


@pytest.mark.usefixtures("wide")
def test_analyze_of_a_hostile_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = hostile_csv(tmp_path)
    code, out, err = run(capsys, "analyze", str(data))
    assert code == 0, err
    assert_shown(out + err, "csv", "column", "label")

    code, out, err = run(capsys, "analyze", str(data), "--json")
    assert code == 0, err
    assert_safe(out)
    sections = json.loads(out)
    assert hostile("label") in sections["dataset_config"]["category_distribution"]


def test_errors_naming_a_hostile_file(
    tmp_path: Path, hostile_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / f"{hostile('missing')}.csv"
    code, out, err = run(capsys, "analyze", str(missing))
    assert code == 2
    assert_shown(out + err, "missing")

    code, out, err = run(
        capsys, "show", hostile("unknown"), "--workspace", str(hostile_workspace.root)
    )
    assert code == 2
    assert_shown(out + err, "unknown")

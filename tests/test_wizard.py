"""The New Training Session wizard, walked with the keyboard on small datasets the tests write.

Trainings are real but tiny: BERT models of hidden size 32 built locally with the demo-model
builder (nothing is asked of the hub), a hundred rows, one epoch, 32 tokens.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual import events
from textual.pilot import Pilot
from textual.widgets import (
    Checkbox,
    DataTable,
    Input,
    Label,
    OptionList,
    Select,
    SelectionList,
    Static,
)

from engine.errors import OperationError
from engine.facade import Engine, LastChoices, LaunchedSession
from engine.schema import TrainingMetadata
from engine.sessions.creation import suggested_max_length
from engine.sessions.hyperparameters import format_number, new_session_defaults
from engine.sessions.sample_data import generate_rows
from engine.store import read_metadata
from engine.training.demo_model import TINY_SPEC, DemoModelSpec, build_demo_model
from engine.workspace import Workspace
from llmtool_tui.app import StudioApp, make_app
from llmtool_tui.screens import MonitorScreen, OptionsScreen
from llmtool_tui.screens.wizard import STEP_IDS, NewSessionWizard
from llmtool_tui.screens.wizard.analysis_progress import AnalysisProgress
from llmtool_tui.screens.wizard.bar_chart import bar, bar_chart_content
from llmtool_tui.screens.wizard.dataset_browser import DatasetBrowser, DatasetTree
from llmtool_tui.screens.wizard.path_suggester import complete_path
from llmtool_tui.screens.wizard.save_step import PANEL_TEXT, QUESTION
from llmtool_tui.screenshots import wait_until
from llmtool_tui.validators import validator_for

#: An analysis of a small file takes well under a second once its libraries are imported; the
#: first one of a test session imports pandas and scikit-learn.
ANALYSIS_TIMEOUT_S = 60.0
#: A tiny training: the worker imports torch and transformers, then trains for seconds.
TRAINING_TIMEOUT_S = 240.0
TINY_HYPERPARAMETERS = {"epochs": "1", "batch_size": "16", "max_length": "32"}


# -- data and models ---------------------------------------------------------------------------


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    """Write ``rows`` (only ``columns``) as a UTF-8 CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def single_label_csv(directory: Path, rows: int = 100) -> Path:
    """French and English sentences, one of four topics each (``label``), a language column."""
    return write_csv(
        directory / "news.csv", generate_rows(rows, seed=7), ["text", "label", "language"]
    )


def multi_label_csv(directory: Path, rows: int = 100) -> Path:
    """The same sentences with one or two topics each, ``;``-separated in ``topics``."""
    return write_csv(
        directory / "topics.csv", generate_rows(rows, seed=7), ["text", "topics", "language"]
    )


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny BERT models (different seeds) with tokenizers trained on the sample's texts."""
    root = tmp_path_factory.mktemp("tiny-models")
    texts = [row["text"] for row in generate_rows(300, seed=3)]
    return [
        build_demo_model(
            root / f"tiny-{seed}", texts, DemoModelSpec(**{**TINY_SPEC.__dict__, "seed": seed})
        )
        for seed in (0, 1)
    ]


@pytest.fixture(autouse=True)
def empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty Hugging Face cache: what is offline does not depend on the machine's cache."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield cache


# -- driving the wizard ------------------------------------------------------------------------


def studio(workspace: Workspace) -> StudioApp:
    return make_app(Engine(workspace), watch=False)


def open_wizard(app: StudioApp) -> None:
    """Menu option 2."""
    app.action_new_session()


def wizard_of(app: Any) -> NewSessionWizard:
    screen = app.screen
    assert isinstance(screen, NewSessionWizard), f"expected the wizard, found {screen}"
    return screen


def step_of(app: Any) -> str:
    return STEP_IDS[wizard_of(app).step_index]


def text_of(widget: Any) -> str:
    """The text a Static shows, whatever it was given (Content, a rich Table...)."""
    console = Console(width=100, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def error_of(app: Any) -> str:
    """The error line under the current step ('' when hidden)."""
    error = wizard_of(app).current_step.query_one(".step-error", Label)
    return str(error.render()) if error.has_class("-shown") else ""


async def start(pilot: Pilot[None]) -> NewSessionWizard:
    app = pilot.app
    assert isinstance(app, StudioApp)
    open_wizard(app)
    await wait_until(pilot, lambda: isinstance(app.screen, NewSessionWizard))
    wizard = wizard_of(app)
    # Composed, the first field focused, and the history looked at (for the sample proposal).
    await wait_until(pilot, lambda: wizard.focused is not None)
    await wait_until(pilot, lambda: not wizard.group_running("wizard-history"))
    await pilot.pause()
    return wizard


async def type_text(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus an Input, clear it and type ``text`` key by key."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.press("end", "ctrl+u", *text)


async def paste_text(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus an Input, clear it and paste ``text`` (long paths: typing them is slow)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.press("end", "ctrl+u")
    field.post_message(events.Paste(text))
    await pilot.pause()
    assert field.value == text


async def analysed(pilot: Pilot[None]) -> None:
    wizard = wizard_of(pilot.app)
    await pilot.pause()
    await wait_until(pilot, lambda: not wizard.analysis_running, ANALYSIS_TIMEOUT_S)
    await pilot.pause()


async def choose_dataset(pilot: Pilot[None], path: Path) -> None:
    await paste_text(pilot, "#dataset-path", str(path))
    await pilot.press("enter")
    await analysed(pilot)


async def choose_mode(pilot: Pilot[None], mode: str) -> None:
    assert step_of(pilot.app) == "mode"
    modes = pilot.app.screen.query_one("#modes", OptionList)
    while modes.highlighted_option is None or modes.highlighted_option.id != mode:
        await pilot.press("down")
    await pilot.press("enter")


async def add_model(pilot: Pilot[None], model: str) -> None:
    """Paste a model in the "Other model" field and press Enter; wait for its check."""
    await paste_text(pilot, "#other-model", model)
    await pilot.press("enter")
    step = pilot.app.screen.query_one("#models-step")
    await wait_until(
        pilot, lambda: not any(w.group == "model-check" and not w.is_finished for w in step.workers)
    )
    await pilot.pause()


async def pick_option(pilot: Pilot[None], selector: str, target: int) -> Select[Any]:
    """Choose the ``target``-th option of a Select with the keyboard (space opens it, arrows,
    Enter; the blank prompt is option 0), and wait for the analysis it starts."""
    select: Select[Any] = pilot.app.screen.query_one(selector, Select)
    select.focus()
    await pilot.press("space")
    current = select.query_one(OptionList).highlighted or 0
    await pilot.press(
        *(["down"] * (target - current) if target > current else ["up"] * (current - target))
    )
    await pilot.press("enter")
    await analysed(pilot)
    return select


async def pick(pilot: Pilot[None], selector: str, value: str) -> None:
    """Choose column ``value`` in a Select with the keyboard (space opens it, arrows, Enter)."""
    # The options: the blank prompt, then the file's columns.
    target = 1 + wizard_of(pilot.app).state.columns.index(value)
    select = await pick_option(pilot, selector, target)
    assert select.value == value


async def set_hyperparameters(pilot: Pilot[None], values: dict[str, str]) -> None:
    for name, value in values.items():
        await type_text(pilot, f"#hyper-{name}-input", value)


async def walk_to(
    pilot: Pilot[None],
    dataset: Path,
    target: str,
    *,
    mode: str = "quick",
    models: list[Path] | None = None,
) -> NewSessionWizard:
    """From the first step to ``target``, accepting what is detected."""
    wizard = wizard_of(pilot.app)
    if target == "dataset":
        return wizard
    await choose_dataset(pilot, dataset)
    for step_id in STEP_IDS[1:]:
        if step_of(pilot.app) == target:
            break
        if step_id == "mode":
            await choose_mode(pilot, mode)
        elif step_id == "models":
            for model in models or []:
                await add_model(pilot, str(model))
            if mode == "benchmark":
                pilot.app.screen.query_one("#model-list").focus()
                await pilot.press("enter")
        elif step_id == "hyperparameters":
            await set_hyperparameters(pilot, TINY_HYPERPARAMETERS)
            await pilot.press("enter")
        else:
            await pilot.press("enter")
        await analysed(pilot)
        assert error_of(pilot.app) == "", error_of(pilot.app)
    assert step_of(pilot.app) == target
    return wizard


async def launched_session(pilot: Pilot[None]) -> MonitorScreen:
    """Answer nothing more: wait for the live view the app opens on the launched session."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, MonitorScreen), 60)
    monitor = app.screen
    assert isinstance(monitor, MonitorScreen)
    return monitor


async def finished(pilot: Pilot[None], monitor: MonitorScreen) -> None:
    await wait_until(
        pilot, lambda: monitor.status in ("completed", "failed", "interrupted"), TRAINING_TIMEOUT_S
    )
    metadata = read_metadata(monitor.path)
    assert monitor.status == "completed", metadata.execution_status.error_message


def session_files(workspace: Workspace) -> list[Path]:
    return sorted(workspace.sessions_dir.glob("*.json"))


def run_dirs(workspace: Workspace) -> list[Path]:
    return sorted(workspace.runs_dir.iterdir()) if workspace.runs_dir.exists() else []


# -- unit parts --------------------------------------------------------------------------------


def test_path_completion_appends_to_what_was_typed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reviews_2024.csv").write_text("x")
    (tmp_path / "data" / ".hidden.csv").write_text("x")
    (tmp_path / "dataset.csv").write_text("x")
    typed = f"{tmp_path}/da"
    # Directories first, with the separator, so that the next completion goes inside.
    assert complete_path(typed) == f"{tmp_path}/data/"
    assert complete_path(f"{tmp_path}/data/r") == f"{tmp_path}/data/reviews_2024.csv"
    assert complete_path(f"{tmp_path}/data/") == f"{tmp_path}/data/reviews_2024.csv"
    assert complete_path(f"{tmp_path}/data/.h") == f"{tmp_path}/data/.hidden.csv"
    assert complete_path(f"{tmp_path}/nothing") is None
    assert complete_path(f"{tmp_path}/missing-dir/x") is None
    assert complete_path("") is None


def test_bars_and_distributions() -> None:
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 3) == "█▌"
    assert bar(0.0, 4) == ""
    chart = bar_chart_content({"[b]pos[/b]": 30, "neg": 10}, bar_width=4).plain.splitlines()
    # Largest first; labels shown literally.
    assert chart[0].startswith("[b]pos[/b]") and "████" in chart[0] and "75.0%" in chart[0]
    assert chart[1].startswith("neg") and "█▍ " in chart[1] and "25.0%" in chart[1]
    many = bar_chart_content({f"c{index}": index + 1 for index in range(10)}, limit=3).plain
    assert many.splitlines()[-1] == "… and 7 more (28 texts)"


def test_hyperparameter_bounds_and_fitted_length() -> None:
    assert suggested_max_length(27, 512) == 32
    assert suggested_max_length(33, 512) == 64
    assert suggested_max_length(300, 512) == 512
    assert suggested_max_length(3000, 512) == 512
    assert suggested_max_length(100, 64) == 64
    learning_rate = validator_for("learning_rate", 512)
    assert learning_rate.validate("2e-5").is_valid
    assert not learning_rate.validate("0").is_valid
    assert not learning_rate.validate("nan").is_valid
    warmup = validator_for("warmup_ratio", 512)
    assert warmup.validate("0").is_valid and not warmup.validate("1").is_valid
    epochs = validator_for("epochs", 512)
    assert not epochs.validate("1.5").is_valid
    assert epochs.validate("1.5").failure_descriptions == ["Must be a whole number from 1 to 1000."]
    assert not validator_for("max_length", 64).validate("128").is_valid


# -- step by step ------------------------------------------------------------------------------


async def test_new_user_gets_the_sample_dataset_and_its_analysis(workspace: Workspace) -> None:
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        await start(pilot)
        field = pilot.app.screen.query_one("#dataset-path", Input)
        assert field.value.endswith("sample_dataset.csv")
        await pilot.press("enter")
        await analysed(pilot)
        assert step_of(pilot.app) == "columns"
        wizard = wizard_of(pilot.app)
        assert wizard.state.text_column == "text"
        assert wizard.state.label_columns == ["label"]
        assert wizard.state.language_column == "language"
        await pilot.press("enter")
        assert step_of(pilot.app) == "analysis"
        overview = text_of(pilot.app.screen.query_one("#analysis-overview"))
        assert "1,200 texts kept of 1,200 rows read" in overview
        assert "single-label, 4 categories" in overview
        assert "sports" in str(pilot.app.screen.query_one("#category-chart").render())
        tokens = text_of(pilot.app.screen.query_one("#analysis-tokens"))
        assert "Tokens per text  mean " in tokens
        assert "Long documents   no: 0.0% of the texts are longer than xlm-roberta-base" in tokens


async def test_the_sample_is_not_proposed_once_there_is_a_history(
    workspace: Workspace, store: Any, make_metadata: Any
) -> None:
    store.create(make_metadata())
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        assert pilot.app.screen.query_one("#dataset-path", Input).value == ""


def test_the_last_choices_are_the_newest_sessions(
    workspace: Workspace, store: Any, make_metadata: Any, tmp_path: Path
) -> None:
    engine = Engine(workspace)
    folder = tmp_path / "corpora"
    folder.mkdir()
    older = store.create(make_metadata("20260101_120000", model="bert-base-uncased"))
    os.utime(older, (1, 1))
    store.create(
        make_metadata("20260102_120000", model="camembert-base", dataset=f"{folder}/news.csv")
    )
    last = engine.last_choices(engine.history(1, validate=False))
    assert last is not None and last.model is not None
    assert last.dataset_directory == folder
    assert last.model.model_id == "camembert-base" and last.model.info is not None
    # A folder since removed, a local model directory since removed, a template's bare name:
    # nothing of them is proposed.
    gone = store.create(
        make_metadata(
            "20260103_120000", model=str(tmp_path / "gone-model"), dataset=f"{tmp_path}/gone/x.csv"
        )
    )
    last = engine.last_choices(engine.history(1, validate=False))
    assert last == LastChoices(dataset_directory=None, model=None)
    gone.unlink()
    store.create(make_metadata("20260104_120000", dataset="news.csv"))
    last = engine.last_choices(engine.history(1, validate=False))
    assert last is not None and last.dataset_directory is None


async def test_the_last_sessions_dataset_folder_and_model_are_proposed(
    workspace: Workspace, store: Any, make_metadata: Any, tmp_path: Path
) -> None:
    data = single_label_csv(tmp_path)
    # camembert-base is not among the recommendations for French and English texts.
    store.create(make_metadata(model="camembert-base", dataset=str(data)))
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        field = pilot.app.screen.query_one("#dataset-path", Input)
        assert field.value == f"{tmp_path}{os.sep}"
        assert "last session's dataset" in text_of(pilot.app.screen.query_one("#proposal-hint"))
        await walk_to(pilot, data, "models")
        listed = pilot.app.screen.query_one("#model-list", SelectionList)
        highlighted = listed.highlighted
        assert highlighted is not None
        assert listed.get_option_at_index(highlighted).value == "camembert-base"
        assert wizard.state.models == ["camembert-base"]
        detail = text_of(pilot.app.screen.query_one("#model-detail"))
        assert "Your last session's model." in detail
        # Chosen once: another model chosen stays chosen when the step is shown again.
        await pilot.press("up")
        assert wizard.state.models != ["camembert-base"]
        chosen = list(wizard.state.models)
        await pilot.press("escape")
        await choose_mode(pilot, "quick")
        assert wizard.state.models == chosen


def screen_lines(app: Any) -> list[str]:
    """The characters of the screen, line by line (colours left out)."""
    update = app.screen._compositor.render_update(full=True)
    return ["".join(strip.text for strip in line) for line in update.strips]


def line_with(app: Any, text: str) -> str:
    return next(line for line in screen_lines(app) if text in line)


async def test_ticked_and_unticked_boxes_differ_without_colour(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    async with studio(workspace).run_test(size=(100, 30)) as pilot:
        assert pilot.app.no_color
        await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), "columns")
        assert "▐ ▌ Drop classes" in line_with(pilot.app, "Drop classes")
        pilot.app.screen.query_one("#drop-rare", Checkbox).focus()
        await pilot.press("space")
        await analysed(pilot)
        assert "▐X▌ Drop classes" in line_with(pilot.app, "Drop classes")
        await pilot.press("enter", "enter")
        await choose_mode(pilot, "benchmark")
        await pilot.press("space")
        analysis = wizard_of(pilot.app).state.analysis
        assert analysis is not None
        first, second = analysis.recommendations[:2]
        assert line_with(pilot.app, first.model.model_id).lstrip().startswith("▐X▌")
        assert line_with(pilot.app, second.model.model_id).lstrip().startswith("▐ ▌")


async def test_dataset_errors_are_shown_in_place(workspace: Workspace, tmp_path: Path) -> None:
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        await type_text(pilot, "#dataset-path", "")
        await pilot.press("enter")
        assert "Type the path of a dataset file" in error_of(pilot.app)
        for path, message in (
            (tmp_path / "missing.csv", "does not exist"),
            (tmp_path, "is a directory"),
            (binary, "looks like binary data"),
        ):
            await choose_dataset(pilot, path)
            assert step_of(pilot.app) == "dataset"
            assert message in error_of(pilot.app)
        # Typing again clears the error.
        await pilot.press("x")
        assert error_of(pilot.app) == ""


async def test_path_completion_in_the_field_and_the_directory_browser(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = single_label_csv(tmp_path)
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        await paste_text(pilot, "#dataset-path", f"{tmp_path}/")
        await pilot.press("n", "e")
        field = pilot.app.screen.query_one("#dataset-path", Input)
        await wait_until(pilot, lambda: field._suggestion == str(data))
        await pilot.press("right")  # accepts the suggestion
        assert field.value == str(data)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DatasetBrowser))
        browser = pilot.app.screen
        assert isinstance(browser, DatasetBrowser)
        assert browser.start == tmp_path
        await pilot.press("backspace")  # up to the parent folder
        assert Path(browser.query_one(DatasetTree).path) == tmp_path.parent
        await pilot.press("escape")
        assert step_of(pilot.app) == "dataset"
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DatasetBrowser))
        tree = pilot.app.screen.query_one(DatasetTree)
        await wait_until(pilot, lambda: tree.root.children != [])
        names = [str(node.label) for node in tree.root.children]
        assert "news.csv" in names
        # Down to the file, Enter picks it: the wizard analyses it.
        for _ in range(names.index("news.csv") + 1):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewSessionWizard))
        await analysed(pilot)
        assert step_of(pilot.app) == "columns"
        assert wizard_of(pilot.app).state.dataset_path == data


async def test_changing_columns_analyses_again(workspace: Workspace, tmp_path: Path) -> None:
    rows = generate_rows(100, seed=7)
    rows[0]["label"] = "weather"  # a class with a single example
    data = write_csv(tmp_path / "rare.csv", rows, ["text", "label", "language", "topics"])
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await choose_dataset(pilot, data)
        # The rare class stops the analysis, but the columns can still be chosen.
        assert step_of(pilot.app) == "columns"
        assert "fewer than 2 examples: 'weather' (1)" in error_of(pilot.app)
        assert wizard.state.analysis is None
        await pilot.press("enter")
        assert "Choose columns the analysis accepts first" in error_of(pilot.app)
        pilot.app.screen.query_one("#drop-rare", Checkbox).focus()
        await pilot.press("space")
        await analysed(pilot)
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.dropped_rare_classes == ["weather"]
        assert error_of(pilot.app) == ""
        # Another text column, with its Select: space opens it, ↓ and Enter pick.
        await pick(pilot, "#text-column", "topics")
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.text_column == "topics"
        await pick(pilot, "#text-column", "text")
        # The topics column as labels: multi-label, read from the ';'-separated lists.
        await pick(pilot, "#label-column", "topics")
        assert wizard.state.analysis is not None
        config = wizard.state.analysis.dataset_config
        assert (config.label_column, config.strategy, config.label_delimiter) == (
            "topics",
            "multi-label",
            ";",
        )
        layout = str(pilot.app.screen.query_one("#label-layout").render())
        assert "list-column" in layout and "multi-label" in layout
        # The text column as labels is refused, with the engine's reason.
        await pick(pilot, "#label-column", "text")
        assert "cannot be both the text and a label" in error_of(pilot.app)
        assert wizard.state.analysis is None
        await pick(pilot, "#label-column", "topics")
        assert error_of(pilot.app) == ""
        assert wizard.state.analysis is not None


async def test_indicator_columns_are_ticked(workspace: Workspace, tmp_path: Path) -> None:
    rows = [
        {
            "text": row["text"],
            **{
                topic: str(int(topic in row["topics"]))
                for topic in ("sports", "politics", "health")
            },
        }
        for row in generate_rows(100, seed=7)
    ]
    data = write_csv(tmp_path / "indicators.csv", rows, ["text", "sports", "politics", "health"])
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await choose_dataset(pilot, data)
        assert wizard.state.label_columns == ["sports", "politics", "health"]
        ticks = pilot.app.screen.query_one("#indicator-columns", SelectionList)
        assert ticks.display and ticks.selected == ["sports", "politics", "health"]
        # 0/1 columns have no cells to split.
        delimiter = pilot.app.screen.query_one("#label-delimiter", Select)
        assert delimiter.disabled and delimiter.prompt == "(indicator columns)"
        ticks.focus()
        ticks.highlighted = 3  # health, after the text column
        await pilot.press("space")
        await analysed(pilot)
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.labels == ["sports", "politics"]
        ticks.highlighted = 2
        await pilot.press("space")
        await analysed(pilot)
        assert error_of(pilot.app) == "Tick two or more 0/1 indicator columns with space."
        # One column of 0/1 is a single-label layout: two classes, 0 and 1.
        await pick(pilot, "#label-column", "sports")
        assert not ticks.display and not delimiter.disabled
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.labels == ["0", "1"]


def headerless_csv(directory: Path, rows: int = 40) -> Path:
    """Reviews and their ``|``-joined labels, without a header row: the first row is data."""
    subjects = ["The film", "This book", "Our dinner", "The concert", "That game", "The hotel"]
    verdicts = [
        "was wonderful from start to end",
        "left everyone rather bored",
        "had good and bad moments",
        "surprised us in every way",
    ]
    labels = ["pos", "neg", "pos|neg", "neg"]
    path = directory / "headerless.csv"
    path.write_text(
        "".join(
            f"{subjects[row % 6]} {verdicts[row % 4]} on day {row},{labels[row % 4]}\n"
            for row in range(rows)
        ),
        encoding="utf-8",
    )
    return path


def underscore_csv(directory: Path, rows: int = 120) -> Path:
    """Texts with one to three of six emotions joined by ``_``: many rare combinations."""
    emotions = ["joy", "anger", "fear", "sadness", "love", "surprise"]
    generator = random.Random(3)
    texts = [row["text"] for row in generate_rows(rows, seed=7)]
    return write_csv(
        directory / "emotions.csv",
        [
            {
                "text": text,
                "emotions": "_".join(
                    sorted(generator.sample(emotions, generator.choice([1, 2, 3])))
                ),
            }
            for text in texts
        ],
        ["text", "emotions"],
    )


def preview_columns(app: Any) -> list[str]:
    return [
        str(column.label) for column in app.screen.query_one("#preview", DataTable).ordered_columns
    ]


async def test_the_first_row_is_data_or_column_names(workspace: Workspace, tmp_path: Path) -> None:
    data = headerless_csv(tmp_path)
    first_text = "The film was wonderful from start to end on day 0"
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await choose_dataset(pilot, data)
        assert step_of(pilot.app) == "columns"
        state = wizard.state
        assert state.analysis is not None
        assert state.analysis.dataset_config.header is False
        assert state.analysis.dataset_config.rows_read == 40
        assert state.columns == ["column_1", "column_2"]
        assert (state.text_column, state.label_columns) == ("column_1", ["column_2"])
        assert preview_columns(pilot.app) == ["column_1", "column_2"]
        screen = pilot.app.screen
        assert screen.query_one("#header-field").display
        header = screen.query_one("#header", Select)
        assert header.selection is None and header.prompt == "data (detected)"
        reason = screen.query_one("#header-reason", Static)
        assert reason.display
        assert "'pos' is one of the values of column 2" in str(reason.render())
        # Tab reaches the two choices after the columns (SSH keyboards have no mouse).
        assert wizard.focused is screen.query_one("#text-column")
        await pilot.press("tab", "tab", "tab")
        assert wizard.focused is header
        await pilot.press("tab")
        assert wizard.focused is screen.query_one("#label-delimiter")
        # The first row names the columns: they are its cells, and it is no longer a row.
        await pick_option(pilot, "#header", 1)
        assert error_of(pilot.app) == ""
        assert state.header is True and header.value == "header"
        assert state.analysis is not None
        assert state.analysis.dataset_config.header is True
        assert state.analysis.dataset_config.rows_read == 39
        assert state.columns == [first_text, "pos"]
        assert (state.text_column, state.label_columns) == (first_text, ["pos"])
        assert preview_columns(pilot.app) == [first_text, "pos"]
        assert not reason.display
        # And back to detection.
        await pick_option(pilot, "#header", 0)
        assert state.header is None and state.columns == ["column_1", "column_2"]
        assert header.prompt == "data (detected)"


async def test_the_first_row_read_as_data_offers_numbered_columns(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = single_label_csv(tmp_path)
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await choose_dataset(pilot, data)
        header = pilot.app.screen.query_one("#header", Select)
        assert header.prompt == "header (detected)"
        assert not pilot.app.screen.query_one("#header-reason").display
        # The header read as data makes a class of a column's name, seen once: refused, but
        # the columns offered are the numbered ones the file now has.
        await pick_option(pilot, "#header", 2)
        assert "with fewer than 2 examples" in error_of(pilot.app)
        assert wizard.state.columns == ["column_1", "column_2", "column_3"]
        pilot.app.screen.query_one("#drop-rare", Checkbox).focus()
        await pilot.press("space")
        await analysed(pilot)
        assert error_of(pilot.app) == ""
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.text_column == "column_1"


async def test_the_label_delimiter_is_detected_and_chosen(
    workspace: Workspace, tmp_path: Path
) -> None:
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await choose_dataset(pilot, underscore_csv(tmp_path))
        state = wizard.state
        assert state.analysis is not None
        config = state.analysis.dataset_config
        assert (config.label_layout, config.label_delimiter) == ("list-column", "_")
        assert config.labels == ["anger", "fear", "joy", "love", "sadness", "surprise"]
        screen = pilot.app.screen
        delimiter = screen.query_one("#label-delimiter", Select)
        assert delimiter.selection is None
        assert delimiter.prompt == "'_' (detected)"
        assert "delimiter '_'" in str(screen.query_one("#label-layout").render())
        # '+' joins nothing here: each combination is a class, most of them seen once.
        await pick_option(pilot, "#label-delimiter", 5)
        assert state.label_delimiter == "+" and delimiter.value == "+"
        assert "fewer than 2 examples" in error_of(pilot.app)
        assert state.analysis is None
        # Back to detection: '_' again.
        await pick_option(pilot, "#label-delimiter", 0)
        assert error_of(pilot.app) == ""
        assert state.label_delimiter is None
        assert state.analysis is not None
        assert state.analysis.dataset_config.label_delimiter == "_"
        # A single-label file: one label per cell.
        await pilot.press("escape")
        await choose_dataset(pilot, single_label_csv(tmp_path))
        assert delimiter.prompt == "none (detected)" and delimiter.selection is None


async def test_user_strings_are_shown_literally(workspace: Workspace, tmp_path: Path) -> None:
    rows = [
        {"text [i]raw[/i]": row["text"], "label": f"[b]{row['label']}[/b]"}
        for row in generate_rows(60, seed=7)
    ]
    data = write_csv(tmp_path / "[red]brackets.csv", rows, ["text [i]raw[/i]", "label"])
    async with studio(workspace).run_test(size=(120, 36)) as pilot:
        await start(pilot)
        await walk_to(pilot, data, "analysis")
        screen = pilot.app.screen
        assert "[b]sports[/b]" in str(screen.query_one("#category-chart").render())
        overview = text_of(screen.query_one("#analysis-overview"))
        assert "[red]brackets.csv" in overview
        assert "text [i]raw[/i]" in overview
        await pilot.press("escape")
        preview = screen.query_one("#preview", DataTable)
        assert str(preview.ordered_columns[0].label) == "text [i]raw[/i]"


async def test_distributed_is_offered_for_multi_label_data_only(
    workspace: Workspace, tmp_path: Path
) -> None:
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), "mode")
        modes = pilot.app.screen.query_one("#modes", OptionList)
        assert modes.get_option("distributed").disabled
        assert "multi-label data only" in str(pilot.app.screen.query_one("#mode-note").render())
        await pilot.press("end", "enter")  # the last selectable mode: custom
        assert wizard_of(pilot.app).state.mode == "custom"
        await pilot.press("escape", "escape", "escape")
        assert step_of(pilot.app) == "columns"
        # Back at the dataset: another file, multi-label this time.
        await pilot.press("escape")
        await walk_to(pilot, multi_label_csv(tmp_path), "mode")
        assert not modes.get_option("distributed").disabled


async def test_model_step_refuses_what_cannot_be_trained(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), "models", mode="benchmark")
        listed = pilot.app.screen.query_one("#model-list", SelectionList)
        assert listed.option_count >= 3  # the recommendations
        # Nothing is cached here and the hub is off: a recommended model cannot be used.
        listed.focus()
        await pilot.press("space", "down", "space", "enter")
        await wait_until(pilot, lambda: error_of(pilot.app) != "")
        assert "not in the local Hugging Face cache" in error_of(pilot.app)
        await pilot.press("space", "up", "space")  # untick both
        await add_model(pilot, str(tiny_models[0]))
        listed.focus()
        await pilot.press("enter")
        assert "two or more models" in error_of(pilot.app)
        await add_model(pilot, str(tmp_path / "no-such-model"))
        assert "does not exist" in error_of(pilot.app)
        await add_model(pilot, "org/uncached-model")
        assert "not in the local Hugging Face cache" in error_of(pilot.app)
        assert wizard.state.models == [str(tiny_models[0])]
        assert step_of(pilot.app) == "models"


async def test_invalid_hyperparameters_are_refused_next_to_the_field(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await walk_to(
            pilot,
            single_label_csv(tmp_path),
            "hyperparameters",
            mode="custom",
            models=[tiny_models[0]],
        )
        screen = pilot.app.screen
        # (refused value, the message next to the field, an accepted value)
        cases = {
            "epochs": ("two", "Must be a whole number from 1 to 1000.", "2"),
            "batch_size": ("0", "Must be a whole number from 1 to 4096.", "8"),
            # The tiny model takes 64 tokens at most.
            "max_length": ("128", "Must be a whole number from 8 to 64.", "48"),
            "learning_rate": ("0", "Must be a number > 0 and ≤ 1.", "3e-4"),
            "warmup_ratio": ("1", "Must be a number ≥ 0 and < 1.", "0.1"),
            "weight_decay": ("-0.1", "Must be a number from 0 to 1.", "0.01"),
            "early_stopping_patience": ("0", "Must be a whole number from 1 to 1000.", "3"),
            "seed": ("-1", "Must be a whole number from 0 to 4294967295.", "7"),
        }
        for name, (refused, message, accepted) in cases.items():
            await type_text(pilot, f"#hyper-{name}-input", refused)
            help_label = screen.query_one(f"#hyper-{name}-help", Label)
            assert str(help_label.render()) == message
            assert help_label.has_class("-invalid")
            await pilot.press("enter")
            assert step_of(pilot.app) == "hyperparameters"
            assert screen.focused is screen.query_one(f"#hyper-{name}-input")
            assert message in error_of(pilot.app)
            await type_text(pilot, f"#hyper-{name}-input", accepted)
            assert not help_label.has_class("-invalid")
        await pilot.press("enter")
        assert step_of(pilot.app) == "summary"
        config = wizard.state.model_config()
        assert config.model_dump(include=set(cases)) == {
            "epochs": 2,
            "batch_size": 8,
            "max_length": 48,
            "learning_rate": 3e-4,
            "warmup_ratio": 0.1,
            "weight_decay": 0.01,
            "early_stopping_patience": 3,
            "seed": 7,
        }
        # The summary shows them as they will be saved, with the rest of the configuration.
        shown = text_of(screen.query_one("#summary-model_config"))
        for key, value in (
            ("training_mode", "custom"),
            ("learning_rate", "0.0003"),
            ("warmup_ratio", "0.1"),
            ("early_stopping_patience", "3"),
            ("selected_model", str(tiny_models[0])),
        ):
            assert re.search(rf"^{key} +{re.escape(value)}\s*$", shown, re.MULTILINE), shown
        status = text_of(screen.query_one("#summary-execution_status"))
        assert re.search(r"^status +pending", status, re.MULTILINE)


async def test_escape_goes_back_without_losing_anything(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    data = single_label_csv(tmp_path)
    async with studio(workspace).run_test() as pilot:
        wizard = await start(pilot)
        await walk_to(pilot, data, "hyperparameters", mode="custom", models=[tiny_models[0]])
        await type_text(pilot, "#hyper-epochs-input", "7")
        await type_text(pilot, "#hyper-seed-input", "1234")
        for expected in ("models", "mode", "analysis", "columns", "dataset"):
            await pilot.press("escape")
            assert step_of(pilot.app) == expected
        assert pilot.app.screen.query_one("#dataset-path", Input).value == str(data)
        # Forward again: the same file keeps its columns, the mode and the model stay chosen.
        await pilot.press("enter")
        await analysed(pilot)
        await pilot.press("enter", "enter")
        assert step_of(pilot.app) == "mode"
        highlighted = pilot.app.screen.query_one("#modes", OptionList).highlighted_option
        assert highlighted is not None and highlighted.id == "custom"
        await pilot.press("enter")
        assert wizard.state.models == [str(tiny_models[0])]
        await pilot.press("enter")
        await wait_until(pilot, lambda: step_of(pilot.app) == "hyperparameters")
        screen = pilot.app.screen
        assert screen.query_one("#hyper-epochs-input", Input).value == "7"
        assert screen.query_one("#hyper-seed-input", Input).value == "1234"


@pytest.mark.parametrize("step_id", STEP_IDS)
async def test_cancel_at_any_step_leaves_no_file(
    step_id: str, workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), step_id, models=[tiny_models[0]])
        for _ in range(STEP_IDS.index(step_id) + 1):
            await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, OptionsScreen))
    assert session_files(workspace) == []
    assert run_dirs(workspace) == []


class StalledEngine(Engine):
    """An engine whose analysis reports progress until released: a file that takes long."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.release = threading.Event()
        self.stopped = threading.Event()

    def analyze(self, dataset: Path, **options: Any) -> Any:
        progress = options["progress"]
        try:
            while not self.release.wait(0.01):
                progress("Detecting languages", 0.5)
        except BaseException:
            self.stopped.set()
            raise
        return super().analyze(dataset, **options)


async def test_escape_stops_an_analysis_before_leaving(workspace: Workspace) -> None:
    engine = StalledEngine(workspace)
    async with make_app(engine, watch=False).run_test() as pilot:
        wizard = await start(pilot)
        await pilot.press("enter")  # the sample dataset
        progress = wizard.query_one(AnalysisProgress)
        await wait_until(
            pilot,
            lambda: (
                "Detecting languages" in str(progress.query_one("#analysis-stage", Label).render())
            ),
        )
        assert progress.display and wizard.analysis_running
        await pilot.press("escape")
        assert not wizard.analysis_running and not progress.display
        # The thread stops at its next report, not when the analysis would have ended.
        await wait_until(pilot, engine.stopped.is_set)
        assert step_of(pilot.app) == "dataset"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, OptionsScreen))


# -- from the dataset to a running session -----------------------------------------------------


def saved_metadata(workspace: Workspace) -> TrainingMetadata:
    files = session_files(workspace)
    assert len(files) == 1
    return read_metadata(files[0])


async def test_quick_training_reaches_the_live_view_and_finishes(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    data = single_label_csv(tmp_path)
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        wizard = await start(pilot)
        await walk_to(pilot, data, "save", models=[tiny_models[0]])
        panel = pilot.app.screen.query_one("#save-panel")
        assert panel.border_title == "Reproducibility & Metadata"
        texts = [str(widget.render()) for widget in panel.query("Static")]
        assert texts[0] == PANEL_TEXT
        assert "⚠  If you choose NO:" in texts[1]
        question = pilot.app.screen.query_one("#save-question Static")
        assert str(question.render()) == QUESTION == "Save training parameters to JSON? [Y/n]:"
        # The summary the user saw is what is saved.
        preview = wizard.state.preview(wizard.engine)
        assert preview is not None
        await pilot.press("enter")  # Yes is the default
        monitor = await launched_session(pilot)
        metadata = saved_metadata(workspace)
        assert monitor.path == session_files(workspace)[0]
        assert metadata.training_model_config == preview.training_model_config
        assert metadata.dataset_config.primary_file == str(data)
        assert metadata.training_session.workflow == "Training Studio - Quick"
        await finished(pilot, monitor)
    config = read_metadata(monitor.path).training_model_config
    assert (config.training_mode, config.epochs, config.max_length) == ("quick", 1, 32)
    assert config.selected_model == str(tiny_models[0])


async def test_saving_no_trains_without_a_metadata_file(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with studio(workspace).run_test() as pilot:
        notices: list[str] = []
        app = pilot.app
        original_notify = app.notify

        def notify(message: str, **options: Any) -> None:
            notices.append(message)
            original_notify(message, **options)

        monkeypatch.setattr(app, "notify", notify)
        await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), "save", models=[tiny_models[0]])
        await pilot.press("n")
        monitor = await launched_session(pilot)
        assert session_files(workspace) == []
        assert monitor.path.parent == workspace.run_dir(monitor.session_id)
        assert any(
            "cannot be resumed and will not appear in the history" in notice for notice in notices
        )
        await finished(pilot, monitor)
    assert session_files(workspace) == []


async def test_benchmark_trains_two_models(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test() as pilot:
        await start(pilot)
        await walk_to(
            pilot, single_label_csv(tmp_path), "save", mode="benchmark", models=tiny_models
        )
        await pilot.press("y")
        monitor = await launched_session(pilot)
        config = saved_metadata(workspace).training_model_config
        assert config.training_mode == "benchmark"
        assert config.selected_models == [str(model) for model in tiny_models]
        await finished(pilot, monitor)
    execution = read_metadata(monitor.path).execution_status
    assert execution.models_trained == [str(model) for model in tiny_models]


class UnstartableEngine(Engine):
    """An engine whose worker cannot be started (a workspace on a full or read-only disk)."""

    def start(self, *args: Any, **kwargs: Any) -> LaunchedSession:
        raise OperationError("cannot start the training worker: No space left on device")


async def test_a_launch_that_fails_is_reported_on_the_save_step(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with make_app(UnstartableEngine(workspace), watch=False).run_test() as pilot:
        wizard = await start(pilot)
        await walk_to(pilot, single_label_csv(tmp_path), "save", models=[tiny_models[0]])
        await pilot.press("n")
        await wait_until(pilot, lambda: error_of(pilot.app) != "")
        assert error_of(pilot.app) == (
            "Could not start the training: cannot start the training worker: "
            "No space left on device"
        )
        assert pilot.app.screen is wizard and step_of(pilot.app) == "save"
        # The answer is kept: coming back to the question, No has the focus.
        await pilot.press("escape")
        await pilot.press("enter")
        assert wizard.focused is wizard.query_one("#save-no")


async def test_distributed_training_on_multi_label_data(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test() as pilot:
        wizard = await start(pilot)
        await walk_to(
            pilot, multi_label_csv(tmp_path), "save", mode="distributed", models=[tiny_models[0]]
        )
        assert wizard.state.analysis is not None
        assert wizard.state.analysis.dataset_config.strategy == "multi-label"
        await pilot.press("enter")
        monitor = await launched_session(pilot)
        metadata = saved_metadata(workspace)
        assert metadata.training_model_config.training_mode == "distributed"
        assert metadata.dataset_config.label_column == "topics"
        await finished(pilot, monitor)
    trained = read_metadata(monitor.path).execution_status.models_trained
    labels = metadata.dataset_config.labels
    assert trained == [f"{tiny_models[0]} [{label}]" for label in labels]


async def test_the_wizard_starts_from_the_engines_defaults_and_warns_without_refusing(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test(size=(80, 24)) as pilot:
        await start(pilot)
        data = single_label_csv(tmp_path)
        await walk_to(pilot, data, "hyperparameters", mode="custom", models=[tiny_models[0]])
        screen = pilot.app.screen
        # The defaults `train` records too (one definition: engine.sessions.hyperparameters).
        for name, value in new_session_defaults().items():
            if name != "max_length":  # fitted to the texts
                assert screen.query_one(f"#hyper-{name}-input", Input).value == format_number(value)
        await type_text(pilot, "#hyper-batch_size-input", "4000")
        warnings = str(screen.query_one("#hyper-warnings", Static).render())
        assert "batch size 4000 is larger than the" in warnings and "training rows" in warnings
        await type_text(pilot, "#hyper-max_length-input", "8")
        assert "max length 8 cuts more than 1 text in 20" in str(
            screen.query_one("#hyper-warnings", Static).render()
        )
        await pilot.press("enter")
        assert step_of(pilot.app) == "summary"


async def test_wizard_custom_mode_offers_the_precision(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test() as pilot:
        wizard = await start(pilot)
        data = single_label_csv(tmp_path)
        await walk_to(pilot, data, "hyperparameters", mode="custom", models=[tiny_models[0]])
        screen = pilot.app.screen
        assert screen.query_one("#hyper-precision-select").display
        # The options in order: auto, fp32, bf16, fp16.
        assert (await pick_option(pilot, "#hyper-precision-select", 2)).value == "bf16"
        help_label = screen.query_one("#hyper-precision-help", Label)
        assert "CPU autocast" in str(help_label.render())
        await set_hyperparameters(pilot, TINY_HYPERPARAMETERS)
        await pilot.press("enter")
        assert step_of(pilot.app) == "summary"
        assert wizard.state.model_config().precision == "bf16"
        # Back in the step, the choice is still there.
        await pilot.press("escape")
        assert screen.query_one("#hyper-precision-select", Select).value == "bf16"


async def test_wizard_other_modes_leave_the_precision_to_auto(
    workspace: Workspace, tmp_path: Path, tiny_models: list[Path]
) -> None:
    async with studio(workspace).run_test() as pilot:
        wizard = await start(pilot)
        data = single_label_csv(tmp_path)
        await walk_to(pilot, data, "hyperparameters", mode="quick", models=[tiny_models[0]])
        assert not pilot.app.screen.query_one("#hyper-precision-select").display
        await set_hyperparameters(pilot, TINY_HYPERPARAMETERS)
        await pilot.press("enter")
        assert step_of(pilot.app) == "summary"
        assert wizard.state.model_config().precision == "auto"

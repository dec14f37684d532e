"""The New Training Session wizard: from a dataset file to a running session, by keyboard alone.

One screen holds a ``WizardState`` (every choice so far: the source of truth, so that going back
never loses what was entered; ``state.py``) and a ContentSwitcher of steps, one widget per module
beside it in ``llmtool_tui/screens/wizard/``. Each step posts a past-tense message when it is
done; the screen records the choice, runs what it calls for (the analysis, the launch) in thread
workers and shows the next step. Nothing is written before the last answer: a cancelled wizard
leaves no file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, OptionList, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine, LastChoices, LaunchedSession
from engine.schema import ModelConfig
from engine.sessions.sample_data import DEFAULT_ROWS, SAMPLE_PATH, TOPIC_WORDS
from llmtool_tui.screens.wizard.analysis_progress import AnalysisProgress
from llmtool_tui.screens.wizard.analysis_step import AnalysisStep
from llmtool_tui.screens.wizard.columns_step import ColumnsStep
from llmtool_tui.screens.wizard.dataset_step import DatasetStep
from llmtool_tui.screens.wizard.hyperparameters_step import HyperparametersStep
from llmtool_tui.screens.wizard.mode_step import ModeStep
from llmtool_tui.screens.wizard.models_step import ModelChoice, ModelsStep
from llmtool_tui.screens.wizard.save_step import SaveStep
from llmtool_tui.screens.wizard.state import WizardState
from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.screens.wizard.summary_step import SummaryStep
from llmtool_tui.untrusted import visible
from llmtool_tui.widgets.footer import Footer

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis
    from engine.history import History

ANALYSIS_GROUP = "wizard-analysis"
LAUNCH_GROUP = "wizard-launch"
HISTORY_GROUP = "wizard-history"
SAMPLE_DESCRIPTION = (
    f"{DEFAULT_ROWS:,} news sentences in French and English, {len(TOPIC_WORDS)} topics"
)


@dataclass(frozen=True)
class AnalysisRequest:
    """An analysis to run, and the step that asked for it."""

    path: Path
    text_column: str | None
    label_columns: list[str]
    language_column: str | None
    header: bool | None
    label_delimiter: str | None
    drop_rare_classes: bool
    model: str | None
    origin: str


@dataclass
class AnalysisOutcome:
    """An analysis's result, or its refusal with the file's columns when they could be read."""

    request: AnalysisRequest
    analysis: DatasetAnalysis | None
    columns: list[str] | None
    error: str | None = None


class AnalysisCancelled(Exception):
    """Raised inside the analysis thread to stop a superseded analysis early."""


STEPS: tuple[tuple[str, type[WizardStep]], ...] = (
    ("dataset", DatasetStep),
    ("columns", ColumnsStep),
    ("analysis", AnalysisStep),
    ("mode", ModeStep),
    ("models", ModelsStep),
    ("hyperparameters", HyperparametersStep),
    ("summary", SummaryStep),
    ("save", SaveStep),
)
STEP_IDS = tuple(step_id for step_id, _ in STEPS)


def title_content(index: int) -> Content:
    """``New Training Session · step 3 of 8: Analysis  ●●●○○○○○``."""
    step_class = STEPS[index][1]
    dots = "●" * (index + 1) + "○" * (len(STEPS) - index - 1)
    return Content.assemble(
        ("New Training Session", "bold"),
        f" · step {index + 1} of {len(STEPS)}: ",
        (step_class.TITLE, "bold $accent"),
        "  ",
        (dots, "$accent"),
    )


class NewSessionWizard(Screen[LaunchedSession | None]):
    """Option 2 of the menu; dismissed with the launched session, or None when cancelled."""

    DEFAULT_CSS = """
    NewSessionWizard {
        #wizard-title {
            height: 1;
            padding: 0 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        #wizard-steps {
            height: 1fr;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: Enter moves on from any widget (an Input, a list), except an open dropdown.
        Binding("enter", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
        Binding("escape", "cancel", "Cancel"),
    ]

    @dataclass
    class AnalysisProgressed(Message):
        """The running analysis reached a stage (posted from its thread)."""

        stage: str
        fraction: float

        def can_replace(self, message: Message) -> bool:
            # Only the latest stage matters: a backlog of updates is skipped, not replayed.
            return isinstance(message, NewSessionWizard.AnalysisProgressed)

    def __init__(
        self,
        engine: Engine,
        *,
        sample_dataset: Path = SAMPLE_PATH,
        history: History | None = None,
    ) -> None:
        """The wizard of a new session in ``engine``'s workspace.

        Args:
            engine: the facade the analysis and the launch go through.
            sample_dataset: the dataset proposed when the history is empty (the bundled sample).
            history: the history the app has (its newest session's dataset folder and model are
                proposed); None to list the newest file.
        """
        super().__init__()
        self.engine = engine
        self.sample_dataset = sample_dataset
        self.history = history
        self.state = WizardState()
        self.step_index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(title_content(0), id="wizard-title")
        with ContentSwitcher(initial=f"{STEP_IDS[0]}-step", id="wizard-steps"):
            for step_id, step_class in STEPS:
                yield step_class(self.state, self.engine, id=f"{step_id}-step")
        yield AnalysisProgress()
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "New Training Session"
        self.call_after_refresh(self.current_step.enter_step)
        self._propose_from_history()

    # -- navigation ----------------------------------------------------------------------------

    @property
    def current_step(self) -> WizardStep:
        return self.step(STEP_IDS[self.step_index])

    def step(self, step_id: str) -> WizardStep:
        """The step widget of ``step_id``."""
        return self.query_one(f"#{step_id}-step", WizardStep)

    def show_step(self, step_id: str) -> None:
        """Show a step, refreshed from the state, with the focus on its first field."""
        self.step_index = STEP_IDS.index(step_id)
        self.query_one(ContentSwitcher).current = f"{step_id}-step"
        self.query_one("#wizard-title", Static).update(title_content(self.step_index))
        step = self.current_step
        step.show_error(None)
        # After the refresh: a widget can take the focus only once it is displayed.
        self.call_after_refresh(step.enter_step)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        launching = self.launching
        if action == "next":
            focused = self.focused
            # An open dropdown of a Select is an OptionList inside the Select: Enter picks there.
            in_dropdown = isinstance(focused, OptionList) and isinstance(focused.parent, Select)
            return not launching and not in_dropdown
        if action == "back":
            return not launching and self.step_index > 0
        if action == "cancel":
            return not launching and self.step_index == 0
        return True

    def action_next(self) -> None:
        """Enter: the current step checks its input and posts its message."""
        self.current_step.confirm()

    def action_back(self) -> None:
        """Escape: the previous step, with everything entered kept."""
        if self.step_index == 1:
            # The analysis belongs to the file: going back to choose another one stops it.
            self.cancel_analysis()
        self.show_step(STEP_IDS[self.step_index - 1])

    def action_cancel(self) -> None:
        """Escape on the first step: stop a running analysis, else leave the wizard."""
        if self.analysis_running:
            self.cancel_analysis()
            return
        self.dismiss(None)

    # -- the steps' messages -------------------------------------------------------------------

    @on(DatasetStep.DatasetChosen)
    def _dataset_chosen(self, message: DatasetStep.DatasetChosen) -> None:
        state = self.state
        if message.path != state.dataset_path:
            # Another file: the columns chosen for the previous one mean nothing here.
            state.dataset_path = message.path
            state.forget_columns()
            state.header = None
            state.label_delimiter = None
            state.file_format = None
            state.analysis = None
        self.analyse("dataset")

    @on(ColumnsStep.ColumnsChanged)
    def _columns_changed(self, message: ColumnsStep.ColumnsChanged) -> None:
        state = self.state
        if message.header != state.header:
            # The header names the columns (the first row's cells, or column_1...).
            state.header = message.header
            state.forget_columns()
        else:
            state.text_column = message.text_column
            state.label_columns = message.label_columns
            state.language_column = message.language_column
        state.label_delimiter = message.label_delimiter
        state.drop_rare_classes = message.drop_rare_classes
        self.analyse("columns")

    @on(ColumnsStep.ColumnsConfirmed)
    def _columns_confirmed(self) -> None:
        if self.analysis_running:
            self.current_step.show_error("Wait for the analysis to finish.")
        elif self.state.analysis is None:
            self.current_step.show_error("Choose columns the analysis accepts first.")
        else:
            self.show_step("analysis")

    @on(AnalysisStep.AnalysisAccepted)
    def _analysis_accepted(self) -> None:
        self.show_step("mode")

    @on(ModeStep.ModeChosen)
    def _mode_chosen(self, message: ModeStep.ModeChosen) -> None:
        self.state.mode = message.mode
        self.show_step("models")

    @on(ModelsStep.ModelsChosen)
    def _models_chosen(self, message: ModelsStep.ModelsChosen) -> None:
        state = self.state
        state.models = message.models
        state.model_max_tokens = message.max_tokens
        if state.analysis is not None and state.analysis.model != state.models[0]:
            # Token counts and the long-document flag are the chosen model's tokenizer's.
            self.analyse("models")
        self.show_step("hyperparameters")

    @on(HyperparametersStep.HyperparametersChosen)
    def _hyperparameters_chosen(self, message: HyperparametersStep.HyperparametersChosen) -> None:
        self.state.chosen_hyperparameters = message.values
        self.show_step("summary")

    @on(SummaryStep.SummaryConfirmed)
    def _summary_confirmed(self) -> None:
        self.show_step("save")

    @on(SaveStep.SaveChosen)
    def _save_chosen(self, message: SaveStep.SaveChosen) -> None:
        if self.analysis_running or self.state.analysis is None:
            self.current_step.show_error("Wait for the analysis to finish.")
            return
        self.state.save = message.save
        self._launch(self.state.analysis, self.state.model_config(), message.save)

    # -- the analysis --------------------------------------------------------------------------

    @property
    def analysis_running(self) -> bool:
        return self.group_running(ANALYSIS_GROUP)

    @property
    def launching(self) -> bool:
        return self.group_running(LAUNCH_GROUP)

    def group_running(self, group: str) -> bool:
        return any(worker.group == group and not worker.is_finished for worker in self.workers)

    def cancel_analysis(self) -> None:
        """Stop the analysis (its thread stops at its next stage)."""
        self.workers.cancel_group(self, ANALYSIS_GROUP)
        self.query_one(AnalysisProgress).stop()

    def analyse(self, origin: str) -> None:
        """Analyse the dataset with the current choices; ``origin`` is the step that asked."""
        state = self.state
        assert state.dataset_path is not None
        request = AnalysisRequest(
            path=state.dataset_path,
            text_column=state.text_column,
            label_columns=list(state.label_columns),
            language_column=state.language_column,
            header=state.header,
            label_delimiter=state.label_delimiter,
            drop_rare_classes=state.drop_rare_classes,
            model=state.models[0] if state.models else None,
            origin=origin,
        )
        self.query_one(AnalysisProgress).start(state.dataset_path.name)
        self._analyse(request)

    @work(thread=True, group=ANALYSIS_GROUP, exclusive=True, exit_on_error=False)
    def _analyse(self, request: AnalysisRequest) -> AnalysisOutcome:
        worker = get_current_worker()

        def progress(stage: str, fraction: float) -> None:
            if worker.is_cancelled:
                raise AnalysisCancelled
            self.post_message(self.AnalysisProgressed(stage, fraction))

        try:
            analysis = self.engine.analyze(
                request.path,
                text_column=request.text_column,
                label_columns=request.label_columns or None,
                language_column=request.language_column,
                header=request.header,
                label_delimiter=request.label_delimiter,
                model=request.model,
                drop_rare_classes=request.drop_rare_classes,
                progress=progress,
            )
        except BadInputError as error:
            columns = self.state.columns or self._file_columns(request)
            return AnalysisOutcome(request, None, columns, in_app(error))
        return AnalysisOutcome(request, analysis, analysis.columns)

    def _file_columns(self, request: AnalysisRequest) -> list[str] | None:
        """The columns of a file the analysis refused, read as the header choice says."""
        return self.engine.dataset_columns(request.path, header=request.header)

    @on(AnalysisProgressed)
    def _analysis_progressed(self, message: AnalysisProgressed) -> None:
        if self.analysis_running:
            self.query_one(AnalysisProgress).advance(message.stage, message.fraction)

    def _analysed(self, outcome: AnalysisOutcome) -> None:
        state = self.state
        origin = outcome.request.origin
        analysis = outcome.analysis
        if analysis is not None:
            config = analysis.dataset_config
            state.analysis = analysis
            state.columns = list(analysis.columns)
            state.text_column = config.text_column
            state.label_columns = list(config.label_columns) or (
                [config.label_column] if config.label_column else []
            )
            state.language_column = config.language_column
            state.file_format = config.format
            if origin == "dataset":
                self.show_step("columns")
            else:
                self.current_step.refresh_step()
            return
        error = outcome.error or "the analysis failed"
        if origin == "models":
            # The previous analysis stands; only its token counts are another tokenizer's.
            self.notify(
                f"Token counts with {visible(str(outcome.request.model))} failed: {visible(error)}",
                severity="warning",
                markup=False,
            )
            return
        state.analysis = None
        if outcome.columns is None:
            self.show_step("dataset")
            self.call_after_refresh(self.current_step.show_error, error)
            return
        state.columns = outcome.columns
        if origin == "dataset":
            self.show_step("columns")
        self.call_after_refresh(self._show_columns_error, error)

    def _show_columns_error(self, error: str) -> None:
        columns = self.step("columns")
        columns.refresh_step()
        columns.show_error(error)

    # -- launching -----------------------------------------------------------------------------

    @work(thread=True, group=LAUNCH_GROUP, exclusive=True, exit_on_error=False)
    def _launch(
        self, analysis: DatasetAnalysis, model_config: ModelConfig, save: bool
    ) -> LaunchedSession:
        return self.engine.start(analysis, model_config, save=save)

    def _launched(self, launched: LaunchedSession) -> None:
        if not launched.saved:
            self.app.notify(
                f"{launched.session_id} was not saved: it cannot be resumed and will not appear "
                "in the history.",
                severity="warning",
                timeout=15,
                markup=False,
            )
        self.dismiss(launched)

    # -- starting points: the sample dataset for a new user, the last choices for the others ---

    @work(group=HISTORY_GROUP, exclusive=True, exit_on_error=False)
    async def _propose_from_history(self) -> None:
        history = self.history
        if history is None:
            history = await asyncio.to_thread(self.engine.history, 1, validate=False)
        if history.total_files == 0:
            self.query_one(DatasetStep).propose_sample(self.sample_dataset, SAMPLE_DESCRIPTION)
            return
        last: LastChoices | None = await asyncio.to_thread(self.engine.last_choices, history)
        if last is None:
            return
        if last.dataset_directory is not None:
            self.query_one(DatasetStep).propose_directory(last.dataset_directory)
        if last.model is not None:
            self.state.last_model = ModelChoice.from_status(last.model)

    # -- workers -------------------------------------------------------------------------------

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place the wizard's background jobs end: results shown, errors in place."""
        worker: Worker[Any] = event.worker
        if worker.group not in (ANALYSIS_GROUP, LAUNCH_GROUP, HISTORY_GROUP):
            return
        event.stop()
        if worker.group == ANALYSIS_GROUP and worker.is_finished and not self.analysis_running:
            self.query_one(AnalysisProgress).stop()
        result = worker.result
        if event.state == WorkerState.SUCCESS:
            if isinstance(result, AnalysisOutcome):
                self._analysed(result)
            elif isinstance(result, LaunchedSession):
                self._launched(result)
        elif event.state == WorkerState.ERROR:
            self._worker_failed(worker)

    def _worker_failed(self, worker: Worker[Any]) -> None:
        error = worker.error
        if isinstance(error, AnalysisCancelled) or worker.group == HISTORY_GROUP:
            # A superseded analysis; or no history, which only the proposals needed.
            return
        text = (
            in_app(error)
            if isinstance(error, (BadInputError, OperationError))
            else f"{type(error).__name__}: {error}"
        )
        if worker.group == LAUNCH_GROUP:
            save = self.step("save")
            assert isinstance(save, SaveStep)
            save.show_status("")
            save.show_error(f"Could not start the training: {text}")
            return
        self.current_step.show_error(f"The analysis failed: {text}")

"""Step 5: the model(s): the analysis's recommendations, or any local directory or hub id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from engine.errors import BadInputError, in_app
from llmtool_tui.screens.wizard.bar_chart import fit
from llmtool_tui.screens.wizard.path_suggester import PathSuggester
from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.screens.wizard.ticks import TickList
from llmtool_tui.untrusted import visible

if TYPE_CHECKING:
    from engine.analysis.catalog import ModelInfo
    from engine.facade import ModelStatus

ID_WIDTH = 36
CHECK_GROUP = "model-check"
HOW_TO_GET_ONE = (
    "None of these is on this machine: training would download it (internet needed). Offline, "
    "build a small model with `llmtool-tui demo-model DIR` and type DIR below."
)


@dataclass(frozen=True)
class ModelChoice:
    """A model the list offers: a recommendation or one the user typed."""

    model_id: str
    languages: str
    max_tokens: int | None
    size: str
    description: str
    offline: bool

    @classmethod
    def from_catalog(cls, info: ModelInfo, offline: bool) -> ModelChoice:
        """A catalogue model, ``any`` language when it is multilingual."""
        languages = "any" if info.multilingual else "/".join(info.languages)
        return cls(info.model_id, languages, info.max_tokens, info.size, info.description, offline)

    @classmethod
    def from_status(cls, status: ModelStatus) -> ModelChoice:
        """A model the engine checked: its catalogue facts, or what is known of any other."""
        if status.info is not None:
            return cls.from_catalog(status.info, status.offline)
        kind = "local model directory" if status.local_directory else "hub model"
        return cls(status.model_id, "?", status.max_tokens, "?", kind, status.offline)


def model_prompt(choice: ModelChoice) -> Content:
    """One line: id, languages, maximum tokens, size, and whether it is on this machine.

    The id may be a directory's name (escaped).
    """
    max_tokens = f"{choice.max_tokens:>6}" if choice.max_tokens else "     ?"
    return Content.assemble(
        fit(visible(choice.model_id), ID_WIDTH),
        f" {fit(choice.languages, 6)}{max_tokens} {choice.size:>5}  ",
        ("offline", "$text-success") if choice.offline else ("download", "$text-warning"),
    )


class ModelList(TickList):
    """The models; space ticks one when several can be chosen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "select", "Tick")]

    multiple = False
    """Several models can be ticked (benchmark); otherwise the highlighted one is the choice."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.multiple if action == "select" else True


class ModelsStep(WizardStep):
    """One model (quick, custom, distributed) or two and more (benchmark)."""

    DEFAULT_CSS = """
    ModelsStep {
        #models-how {
            color: $text-accent;
        }
        #models-header {
            padding-left: 4;
            color: $text-muted;
            text-style: bold;
        }
        #model-list {
            height: auto;
            max-height: 9;
        }
        #model-detail {
            height: auto;
            min-height: 2;
            color: $text-muted;
        }
        #other-model {
            margin-top: 1;
        }
    }
    """

    TITLE = "Model"
    HINT = "Recommended for the languages found, best first; or type your own below."

    @dataclass
    class ModelsChosen(Message):
        """The models to train were chosen (and found usable)."""

        models: list[str]
        max_tokens: int | None
        """The smallest maximum length of the chosen models, when known."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="models-how", markup=False)
        yield Static(
            f"{'Model':<{ID_WIDTH}} {'Lang.':<6}{'Max':>6} {'Size':>5}  Here",
            id="models-header",
            markup=False,
        )
        yield ModelList(id="model-list", compact=True)
        yield Static("", id="model-detail", markup=False)
        yield Label(
            "Other model: a local model directory or a hub id (Enter adds it)", markup=False
        )
        yield Input(
            placeholder="e.g. ./models/my-bert or org/model-name",
            id="other-model",
            suggester=PathSuggester(),
            compact=True,
        )

    @property
    def benchmark(self) -> bool:
        return self.state.mode == "benchmark"

    def choices(self) -> list[ModelChoice]:
        """The recommendations, then the models the user added."""
        analysis = self.state.analysis
        recommended = [
            ModelChoice.from_catalog(recommendation.model, recommendation.offline)
            for recommendation in (analysis.recommendations if analysis else [])
        ]
        known = {choice.model_id for choice in recommended}
        return recommended + [c for c in self.state.added_models if c.model_id not in known]

    def enter_step(self) -> None:
        self._propose_last_model()
        self.refresh_step()
        self.query_one("#model-list", ModelList).focus()

    def _propose_last_model(self) -> None:
        """Until a model is chosen, the last session's is: listed (after the recommendations
        when not one of them) and highlighted."""
        state = self.state
        last = state.last_model
        if last is None or state.models:
            return
        if all(choice.model_id != last.model_id for choice in self.choices()):
            state.added_models.append(last)
        state.models = [last.model_id]

    def refresh_step(self) -> None:
        state = self.state
        if not self.benchmark:
            state.models = state.models[:1]
        choices = self.choices()
        self.query_one("#models-how", Static).update(
            "Benchmark: tick two or more with space, then Enter."
            if self.benchmark
            else "↑/↓ choose one model, Enter continues."
        )
        models: ModelList = self.query_one("#model-list", ModelList)
        models.multiple = self.benchmark
        with self.prevent(SelectionList.SelectedChanged):
            models.clear_options()
            models.add_options(
                Selection(model_prompt(choice), choice.model_id, choice.model_id in state.models)
                for choice in choices
            )
        if choices:
            ids = [choice.model_id for choice in choices]
            first = state.models[0] if state.models and state.models[0] in ids else ids[0]
            models.highlighted = ids.index(first)
        self._describe(models.highlighted)
        self.refresh_bindings()

    @on(SelectionList.SelectionHighlighted, "#model-list")
    def _highlighted(self, event: SelectionList.SelectionHighlighted[str]) -> None:
        event.stop()
        self._describe(event.selection_index)
        if not self.benchmark:
            # One model: the highlighted one is the choice, ticked to show it.
            models: ModelList = self.query_one("#model-list", ModelList)
            with self.prevent(SelectionList.SelectedChanged):
                models.deselect_all()
                models.select(event.selection)
            self.state.models = [event.selection.value]

    def _describe(self, index: int | None) -> None:
        choices = self.choices()
        detail = self.query_one("#model-detail", Static)
        if index is None or not 0 <= index < len(choices):
            detail.update("")
            return
        choice = choices[index]
        where = (
            "On this machine."
            if choice.offline
            else "Not on this machine: training downloads it, which needs the internet."
        )
        text = f"{visible(choice.model_id)}: {choice.description}. {where}"
        last = self.state.last_model
        if last is not None and choice.model_id == last.model_id:
            text += " Your last session's model."
        if not any(c.offline for c in choices):
            text += f"\n{HOW_TO_GET_ONE}"
        detail.update(text)

    @on(SelectionList.SelectedChanged, "#model-list")
    def _ticked(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        ticked = self.query_one("#model-list", ModelList).selected
        order = [choice.model_id for choice in self.choices()]
        self.state.models = sorted(ticked, key=order.index)
        self.show_error(None)

    @on(Input.Changed, "#other-model")
    def _typing(self, event: Input.Changed) -> None:
        event.stop()
        self.show_error(None)

    def confirm(self) -> None:
        if self.workers_running():
            return
        other = self.query_one("#other-model", Input)
        if self.screen.focused is other and other.value.strip():
            self._check([other.value.strip()], add=True)
            return
        models: ModelList = self.query_one("#model-list", ModelList)
        chosen = list(self.state.models)
        if self.benchmark:
            if len(chosen) < 2:
                self.show_error("A benchmark compares two or more models: tick them with space.")
                return
        elif not chosen:
            highlighted = models.highlighted
            if highlighted is None:
                self.show_error("Choose a model, or type a model directory or hub id.")
                return
            chosen = [models.get_option_at_index(highlighted).value]
        self._check(chosen, add=False)

    def workers_running(self) -> bool:
        return any(w.group == CHECK_GROUP and not w.is_finished for w in self.workers)

    def _check(self, names: list[str], *, add: bool) -> None:
        self.show_error(None)
        checking = ", ".join(visible(name) for name in names)
        self.query_one("#model-detail", Static).update(f"Checking {checking}…")
        self._run_check(names, add)

    @work(thread=True, group=CHECK_GROUP, exclusive=True, exit_on_error=False)
    def _run_check(self, names: list[str], add: bool) -> tuple[list[ModelChoice], bool]:
        # Resolved as the worker will: a model neither on disk nor obtainable is refused here,
        # instead of creating a session that fails at once.
        return [ModelChoice.from_status(status) for status in self.engine.check_models(names)], add

    @on(Worker.StateChanged)
    def _checked(self, event: Worker.StateChanged) -> None:
        worker: Worker[tuple[list[ModelChoice], bool]] = event.worker
        if worker.group != CHECK_GROUP:
            return
        event.stop()
        if event.state == WorkerState.ERROR:
            error = worker.error
            self._describe(self.query_one("#model-list", ModelList).highlighted)
            self.show_error(
                in_app(error)
                if isinstance(error, BadInputError)
                else f"{type(error).__name__}: {error}"
            )
        elif event.state == WorkerState.SUCCESS and worker.result is not None:
            choices, add = worker.result
            if add:
                self._added(choices[0])
            else:
                self._chosen(choices)

    def _added(self, choice: ModelChoice) -> None:
        state = self.state
        if all(c.model_id != choice.model_id for c in state.added_models):
            state.added_models.append(choice)
        if not self.benchmark:
            state.models = [choice.model_id]
        elif choice.model_id not in state.models:
            state.models = [*state.models, choice.model_id]
        self.query_one("#other-model", Input).value = ""
        self.refresh_step()
        if self.benchmark:
            self.query_one("#model-list", ModelList).focus()
        else:
            self._chosen([choice])

    def _chosen(self, choices: list[ModelChoice]) -> None:
        self.state.models = [choice.model_id for choice in choices]
        limits = [choice.max_tokens for choice in choices if choice.max_tokens]
        self.post_message(self.ModelsChosen(self.state.models, min(limits) if limits else None))

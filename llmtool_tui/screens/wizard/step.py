"""What every step of the New Training Session wizard has: a hint, an error line, confirm()."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from llmtool_tui.untrusted import visible

if TYPE_CHECKING:
    from engine.facade import Engine
    from llmtool_tui.screens.wizard.state import WizardState


class WizardStep(Vertical):
    """Base of the steps: ``compose_body`` between a hint line and an error line.

    The wizard shows one step at a time (a ContentSwitcher keeps the others mounted, so what was
    typed stays in their widgets) and calls ``enter_step`` each time the step is shown, after
    earlier steps may have changed the state. ``confirm`` is what Enter does: check what was
    entered and post the step's past-tense message, which the wizard acts on.
    """

    DEFAULT_CSS = """
    WizardStep {
        height: 1fr;
        padding: 0 1;
        /* At 80x24 a step with a long error can be taller than the screen: it scrolls. */
        overflow-y: auto;
        & > .step-hint {
            color: $text-muted;
            margin-bottom: 1;
        }
        & > .step-error {
            color: $text-error;
            display: none;
            &.-shown {
                display: block;
            }
        }
    }
    """

    TITLE: ClassVar[str] = ""
    """Name of the step in the wizard's title line."""
    HINT: ClassVar[str] = ""
    """One line above the step: what to do, and which keys do it."""

    def __init__(self, state: WizardState, engine: Engine, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self.engine = engine
        """The facade: the steps' blocking calls (checks, previews) go through it."""

    def compose(self) -> ComposeResult:
        yield Static(self.HINT, classes="step-hint", markup=False)
        yield from self.compose_body()
        yield Label("", classes="step-error", markup=False)

    def compose_body(self) -> ComposeResult:
        """The step's own widgets."""
        yield from ()

    def enter_step(self) -> None:
        """Called each time the step is shown: show the state, focus the first thing to do."""

    def refresh_step(self) -> None:
        """Show the state again after it changed while the step is shown (a new analysis)."""

    def confirm(self) -> None:
        """Enter: check the step's input and post its message (or show why not)."""

    def show_error(self, message: str | None) -> None:
        """Show ``message`` under the step, or hide the error line with None.

        Shown literally and escaped: errors name the dataset file, its columns and labels.
        """
        error = self.query_one(".step-error", Label)
        error.update(visible(message or ""))
        error.set_class(bool(message), "-shown")
        if message:
            # Once laid out (wrapped): on a short terminal the line may be below the fold.
            self.call_after_refresh(error.scroll_visible, animate=False)

"""The first screen: the specification's "Training Session Options" menu."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from llmtool_tui.widgets.footer import Footer

#: (option id, number, title, description, app action), in the specification's order. Option 3
#: of the original ("Back to Main Menu") has no main menu to go back to here, so it quits.
OPTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "resume",
        "1",
        "Resume/Relaunch Training",
        "Load saved parameters from previous training sessions",
        "open_history",
    ),
    (
        "new",
        "2",
        "New Training Session",
        "Start fresh with dataset selection and configuration",
        "new_session",
    ),
    ("quit", "3", "Quit", "Leave the app (running sessions keep running)", "quit"),
)


def option_prompt(number: str, title: str, description: str) -> Text:
    """``1  Resume/Relaunch Training`` over its description, as in the specification's table."""
    prompt = Text()
    prompt.append(f"{number}  ", style="bold")
    prompt.append(title, style="bold")
    prompt.append(f"\n   {description}", style="dim")
    return prompt


class OptionsScreen(Screen[None]):
    """Choose between the history, a new session and quitting; by digit or arrows + Enter."""

    SUB_TITLE = "Training Session Options"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose('resume')", "Resume/Relaunch"),
        Binding("2", "choose('new')", "New session"),
        Binding("3,q", "choose('quit')", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Training Session Options", classes="screen-title")
        yield OptionList(
            *(
                Option(option_prompt(number, title, description), id=option_id)
                for option_id, number, title, description, _ in OPTIONS
            ),
            id="options",
        )
        yield Static("Select an option [1/2/3], or move with ↑/↓ and press Enter.", classes="hint")
        yield Footer()

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            await self.action_choose(event.option.id)

    async def action_choose(self, option_id: str) -> None:
        """Run the app action of an option."""
        action = next(action for oid, *_, action in OPTIONS if oid == option_id)
        await self.app.run_action(action)

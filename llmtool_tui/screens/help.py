"""The keys that work on the current screen, read from its live bindings so that it never lies."""

from __future__ import annotations

from typing import ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

KeyHelp = tuple[str, str, bool]
"""(keys as shown, what they do, whether they work now)."""
SECTIONS = ("This screen", "In the focused list or view", "Everywhere")
#: What every screen inherits from Textual's Screen (focus moves, copy): listed as app-wide.
SCREEN_DEFAULT_ACTIONS = frozenset(
    binding.action for binding in Screen.BINDINGS if isinstance(binding, Binding)
)


def screen_keys(screen: Screen[object]) -> dict[str, list[KeyHelp]]:
    """The keys of ``screen``, of its focused widget and of the app, aliases grouped (``↓ j``).

    Returns:
        The keys by section (SECTIONS), in the order the bindings are declared.
    """
    sections: dict[str, dict[tuple[int, str], KeyHelp]] = {name: {} for name in SECTIONS}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description:
            continue
        if active.node is screen and binding.action not in SCREEN_DEFAULT_ACTIONS:
            section = sections[SECTIONS[0]]
        elif active.node is screen or isinstance(active.node, App):
            section = sections[SECTIONS[2]]
        else:
            section = sections[SECTIONS[1]]
        group = (id(active.node), binding.action)
        shown = screen.app.get_key_display(binding)
        if group in section:
            keys, description, enabled = section[group]
            section[group] = (f"{keys} {shown}", description, enabled)
        else:
            section[group] = (shown, binding.description, active.enabled)
    found = {name: list(groups.values()) for name, groups in sections.items()}
    found[SECTIONS[0]] += [
        (shown, description, True) for shown, description in getattr(screen, "HELP_KEYS", ())
    ]
    return {name: section for name, section in found.items() if section}


def keys_table(sections: dict[str, list[KeyHelp]]) -> Table:
    """Keys and descriptions under their section; keys that do not apply now are dimmed."""
    table = Table(box=box.SIMPLE_HEAD, show_header=False, pad_edge=False, expand=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for name, keys in sections.items():
        table.add_row(Text(name, style="underline"), "")
        for keys_shown, description, enabled in keys:
            style = "" if enabled else "dim"
            table.add_row(
                Text(f"  {keys_shown}", style=style),
                Text(description + ("" if enabled else " (not now)"), style=style),
            )
    return table


class HelpScreen(ModalScreen[None]):
    """Help for the screen it was opened from."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, title: str, sections: dict[str, list[KeyHelp]]) -> None:
        super().__init__()
        self.title_text = title
        self.sections = sections

    @classmethod
    def for_screen(cls, screen: Screen[object]) -> HelpScreen:
        """The help of ``screen``: its keys under its subtitle (else the app's)."""
        return cls(screen.sub_title or screen.app.sub_title, screen_keys(screen))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(f"Keys: {self.title_text}", classes="dialog-title", markup=False)
            with VerticalScroll(id="help-keys"):
                yield Static(keys_table(self.sections))
            yield Static("Esc or ? closes this help.", classes="hint")

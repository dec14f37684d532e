"""Steps shared by the app's pilot tests: open the history or a session, wait for a dialog."""

from __future__ import annotations

from typing import Any, TypeVar

from rich.console import Console
from textual._compositor import CompositorUpdate
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from llmtool_tui.screens import DetailScreen, HistoryScreen
from llmtool_tui.screenshots import wait_until

ScreenType = TypeVar("ScreenType", bound=Screen[Any])


def plain(renderable: object, width: int = 200) -> str:
    """What a Rich renderable shows, as plain text."""
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def terminal_output(app: App[Any]) -> str:
    """The bytes a terminal would receive to draw the app as it is now, escape sequences and all.

    What a widget renders reaches the terminal unfiltered; a test of untrusted text looks for
    control characters here, where they would act, rather than in a widget's content. Dialogs are
    drawn over the screens below them, as on a terminal.
    """
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, CompositorUpdate)
    return update.render_segments(app.console)


async def wait_for_screen(pilot: Pilot[None], kind: type[ScreenType]) -> ScreenType:
    """Wait until the app shows a screen (or dialog) of ``kind``, and return it."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind))
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def open_history(pilot: Pilot[None]) -> HistoryScreen:
    """Option 1, then wait for the history's first listing."""
    await pilot.press("1")
    history = await wait_for_screen(pilot, HistoryScreen)
    await wait_until(pilot, lambda: history.history is not None and not history.fetching)
    return history


async def open_detail(pilot: Pilot[None], number: str = "1") -> DetailScreen:
    """The details of the session with history number ``number``, once read."""
    await open_history(pilot)
    await pilot.press(number)
    detail = await wait_for_screen(pilot, DetailScreen)
    await wait_until(pilot, lambda: detail.view is not None)
    return detail

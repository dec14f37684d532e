"""The footer shows the keys of what has the focus, and recomposes only when they change."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Button, Static

from llmtool_tui.screenshots import wait_until
from llmtool_tui.widgets.footer import Footer


class Keyed(Static, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("k", "noop", "Keyed key")]


class Plain(Button):
    """Focusable, with no key of its own to show."""


class CountingFooter(Footer):
    compositions = 0

    def compose(self) -> ComposeResult:
        CountingFooter.compositions += 1
        yield from super().compose()


class Main(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "Leave")]

    def compose(self) -> ComposeResult:
        yield Keyed("keyed", id="keyed")
        yield Plain("one", id="one")
        yield Plain("two", id="two")
        yield CountingFooter()


class Cover(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("cover")


class FooterApp(App[None]):
    def get_default_screen(self) -> Screen[None]:
        return Main()


def shown(screen: Screen[object]) -> str:
    footer = screen.query_one(CountingFooter)
    return " ".join(str(key.render()) for key in footer.query("FooterKey"))


async def test_the_footer_follows_the_keys_and_only_their_changes() -> None:
    async with FooterApp().run_test() as pilot:
        main = pilot.app.screen
        main.set_focus(main.query_one("#keyed"))
        await wait_until(pilot, lambda: "Keyed key" in shown(main))
        # From one button to another: the same keys, no new composition.
        main.set_focus(main.query_one("#one"))
        # Recomposed (its keys are all there again), without the keyed widget's.
        await wait_until(pilot, lambda: shown(main).split() == ["esc", "Leave", "^p", "palette"])
        await pilot.pause()
        before = CountingFooter.compositions
        main.set_focus(main.query_one("#two"))
        await pilot.pause()
        await pilot.pause()
        assert CountingFooter.compositions == before
        assert shown(main).split() == ["esc", "Leave", "^p", "palette"]
        # A change made while another screen covers it is shown when it is back.
        await pilot.app.push_screen(Cover())
        main.set_focus(main.query_one("#keyed"))
        await pilot.pause()
        pilot.app.pop_screen()
        await wait_until(pilot, lambda: "Keyed key" in shown(main))

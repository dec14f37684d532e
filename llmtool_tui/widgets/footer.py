"""The key bar of every screen: Textual's footer, recomposed only when the keys it shows change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer as TextualFooter

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

ShownKeys = tuple[tuple[str, str, str, bool, str], ...]


class Footer(TextualFooter):
    """Textual's footer, less the recompositions that would show the same keys.

    Textual's recomposes at every change of its screen's bindings (a focus moving, a screen
    opened over it or closed) even when the keys shown stay the same: opening the history made
    the menu's footer and its own recompose four times each, creating and styling 40 keys
    that nobody saw, a quarter of the time the history took to show its rows. This footer
    remembers what it shows, and recomposes only when that changes, on a screen in view.
    """

    _shown: ShownKeys | None = None
    """The keys of the last composition; None before the bindings were ready."""
    _recompose_pending = False

    def _keys_to_show(self) -> ShownKeys:
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        )

    def compose(self) -> ComposeResult:
        self._shown = self._keys_to_show() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Textual's, except for what is skipped: a second recomposition while one is pending,
        # any on a covered screen (its resumption publishes its bindings again, and a change
        # made meanwhile is shown then), and one that would show the same keys.
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._recompose_pending or not screen.is_current:
            return
        if self._keys_to_show() != self._shown:
            self._recompose_pending = True
            self.call_after_refresh(self._recompose_if_shown)

    async def _recompose_if_shown(self) -> None:
        self._recompose_pending = False
        if self.is_attached and self.screen.is_current:
            await self.recompose()

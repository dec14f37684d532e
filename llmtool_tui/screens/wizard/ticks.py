"""The wizard's tick boxes: ticked and unticked told apart by a glyph, not by colour alone.

Textual draws the same ``▐X▌`` for both states and dims the X when unticked, which NO_COLOR (and
a colour-blind eye) cannot see: here an unticked box is empty, ``▐ ▌``.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList

#: What Textual draws in a box (Checkbox and SelectionList alike), kept for a ticked one.
TICKED = Checkbox.BUTTON_INNER
UNTICKED = " "


class TickBox(Checkbox):
    """A Checkbox whose box is empty when unticked."""

    def render(self) -> Content:
        # ToggleButton draws BUTTON_INNER whatever the value.
        self.BUTTON_INNER = TICKED if self.value else UNTICKED
        return super().render()


class TickList(SelectionList[str]):
    """A SelectionList whose boxes are empty when unticked."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        index = self.scroll_offset.y + y
        if not 0 <= index < self.option_count:
            return line
        segments = list(line)
        # SelectionList draws BUTTON_LEFT, BUTTON_INNER, BUTTON_RIGHT before the prompt.
        if len(segments) < 3 or segments[1].text != TICKED:
            return line
        if self.get_option_at_index(index).value in self.selected:
            return line
        segments[1] = Segment(UNTICKED, segments[1].style)
        return Strip(segments, line.cell_length)

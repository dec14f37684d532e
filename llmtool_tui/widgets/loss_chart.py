"""A terminal line chart of training loss: the F1 chart's drawing with an axis fit for a loss.

A loss is not bounded by 1 and its interesting part is its fall: the axis spans the values drawn
(from 0 when they come close to it), with round ticks.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmtool_tui.widgets.f1_chart import MAX_Y_TICKS, F1Chart, number_label, numeric_ticks

#: Part of the values' span left free above and below them.
MARGIN = 0.05


class LossChart(F1Chart):
    """Training loss (y) against steps (x); a message instead when there is nothing to plot."""

    def y_axis(self, values: Sequence[float]) -> tuple[float, float]:
        low, high = min(values), max(values)
        margin = (high - low) * MARGIN or max(abs(high) * MARGIN, MARGIN)
        low = low - margin
        # A loss is never negative: an axis that dips under 0 only wastes rows.
        return (0.0 if low < 0 <= min(values) else low), high + margin

    def y_ticks(self, rows: int) -> tuple[list[float], list[str]]:
        ticks = numeric_ticks(*self.y_range, max(1, min(MAX_Y_TICKS, rows // 2)))
        return ticks, [number_label(tick) for tick in ticks]

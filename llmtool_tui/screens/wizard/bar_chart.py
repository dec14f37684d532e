"""Labelled horizontal bars: a distribution (texts per category, per language) at a glance."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content
from textual.widgets import Static

from llmtool_tui.untrusted import visible

#: Eighths of a cell, so that close counts still get bars of visibly different lengths.
PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"
FULL_BLOCK = "█"


def bar(share: float, width: int) -> str:
    """A bar ``share`` (0 to 1) of ``width`` cells long, to the eighth of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, remainder = divmod(eighths, 8)
    return FULL_BLOCK * full + (PARTIAL_BLOCKS[remainder] if remainder else "")


def fit(label: str, width: int) -> str:
    """``label`` padded or cut (with an ellipsis) to ``width`` characters."""
    return f"{label:<{width}}" if len(label) <= width else label[: width - 1] + "…"


def bar_chart_content(
    counts: Mapping[str, int], *, bar_width: int = 28, label_width: int = 16, limit: int = 8
) -> Content:
    """One line per item, largest first: label, bar scaled to the largest count, count, share.

    Items beyond ``limit`` are summed up in a last line. Labels are user data and go in as plain
    text (never markup), so ``[brackets]`` show as typed, control characters escaped.
    """
    if not counts:
        return Content.assemble(("(none)", "dim"))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values())
    largest = ordered[0][1] or 1
    lines = [
        Content.assemble(
            fit(visible(label), label_width),
            " ",
            (f"{bar(count / largest, bar_width):<{bar_width}}", "$accent"),
            f" {count:>7,} {count / total if total else 0.0:>6.1%}",
        )
        for label, count in ordered[:limit]
    ]
    hidden = ordered[limit:]
    if hidden:
        rest = sum(count for _, count in hidden)
        lines.append(Content.assemble((f"… and {len(hidden)} more ({rest:,} texts)", "dim")))
    return Content("\n").join(lines)


class BarChart(Static):
    """A distribution drawn as labelled bars.

    Written by hand because Textual's only chart, Sparkline, has no labels or values, and a
    researcher must read category names and counts, not a silhouette.
    """

    DEFAULT_CSS = """
    BarChart {
        height: auto;
        width: 1fr;
    }
    """

    def show_counts(self, counts: Mapping[str, int]) -> None:
        """Draw ``counts`` (label -> number of texts)."""
        self.update(bar_chart_content(counts))

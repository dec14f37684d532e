"""Reusable widgets, one per module.

The F1 chart is loaded when first used (PEP 562 ``__getattr__``): its plotting library costs
imports that the app's first paint must not wait for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmtool_tui.widgets.evaluations_table import EvaluationsTable
from llmtool_tui.widgets.log_view import LogView
from llmtool_tui.widgets.progress_panel import ProgressPanel
from llmtool_tui.widgets.session_table import SessionTable

if TYPE_CHECKING:
    from llmtool_tui.widgets.f1_chart import ChartSeries, F1Chart

__all__ = [
    "ChartSeries",
    "EvaluationsTable",
    "F1Chart",
    "LogView",
    "ProgressPanel",
    "SessionTable",
]


def __getattr__(name: str) -> Any:
    if name in ("ChartSeries", "F1Chart"):
        from llmtool_tui.widgets import f1_chart

        return getattr(f1_chart, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

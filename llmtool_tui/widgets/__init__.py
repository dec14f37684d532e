"""Reusable widgets, one per module, each imported when first used (see llmtool_tui.lazy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmtool_tui.lazy import exports_on_use

if TYPE_CHECKING:
    from llmtool_tui.widgets.evaluations_table import EvaluationsTable
    from llmtool_tui.widgets.f1_chart import ChartSeries, F1Chart
    from llmtool_tui.widgets.log_view import LogView
    from llmtool_tui.widgets.progress_panel import ProgressPanel
    from llmtool_tui.widgets.session_table import SessionTable

__getattr__ = exports_on_use(
    __name__,
    {
        "ChartSeries": "f1_chart",
        "EvaluationsTable": "evaluations_table",
        "F1Chart": "f1_chart",
        "LogView": "log_view",
        "ProgressPanel": "progress_panel",
        "SessionTable": "session_table",
    },
)

__all__ = ["ChartSeries", "EvaluationsTable", "F1Chart", "LogView", "ProgressPanel", "SessionTable"]

"""Reusable widgets, one per module."""

from llmtool_tui.widgets.evaluations_table import EvaluationsTable
from llmtool_tui.widgets.f1_chart import ChartSeries, F1Chart
from llmtool_tui.widgets.log_view import LogView
from llmtool_tui.widgets.progress_panel import ProgressPanel
from llmtool_tui.widgets.session_table import SessionTable

__all__ = [
    "ChartSeries",
    "EvaluationsTable",
    "F1Chart",
    "LogView",
    "ProgressPanel",
    "SessionTable",
]

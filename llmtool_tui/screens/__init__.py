"""The app's screens, one per module."""

from llmtool_tui.screens.detail import DetailScreen
from llmtool_tui.screens.help import HelpScreen
from llmtool_tui.screens.history import HistoryScreen
from llmtool_tui.screens.monitor import MonitorScreen
from llmtool_tui.screens.options import OptionsScreen

__all__ = ["DetailScreen", "HelpScreen", "HistoryScreen", "MonitorScreen", "OptionsScreen"]

"""The app's screens, one per module."""

from llmtool_tui.screens.compare import CompareScreen
from llmtool_tui.screens.detail import DetailScreen
from llmtool_tui.screens.help import HelpScreen
from llmtool_tui.screens.history import HistoryScreen
from llmtool_tui.screens.monitor import MonitorScreen
from llmtool_tui.screens.options import OptionsScreen
from llmtool_tui.screens.performance import PerformanceScreen
from llmtool_tui.screens.wizard import NewSessionWizard

__all__ = [
    "CompareScreen",
    "DetailScreen",
    "HelpScreen",
    "HistoryScreen",
    "MonitorScreen",
    "NewSessionWizard",
    "OptionsScreen",
    "PerformanceScreen",
]

"""The app's screens, one per module, each imported when first used (see llmtool_tui.lazy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmtool_tui.lazy import exports_on_use

if TYPE_CHECKING:
    from llmtool_tui.screens.compare import CompareScreen
    from llmtool_tui.screens.detail import DetailScreen
    from llmtool_tui.screens.help import HelpScreen
    from llmtool_tui.screens.history import HistoryScreen
    from llmtool_tui.screens.monitor import MonitorScreen
    from llmtool_tui.screens.options import OptionsScreen
    from llmtool_tui.screens.performance import PerformanceScreen
    from llmtool_tui.screens.wizard import NewSessionWizard

__getattr__ = exports_on_use(
    __name__,
    {
        "CompareScreen": "compare",
        "DetailScreen": "detail",
        "HelpScreen": "help",
        "HistoryScreen": "history",
        "MonitorScreen": "monitor",
        "NewSessionWizard": "wizard",
        "OptionsScreen": "options",
        "PerformanceScreen": "performance",
    },
)

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

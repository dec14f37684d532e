"""The app's screens, one per module.

The compare, chart and wizard screens are loaded when first used (PEP 562 ``__getattr__``): they
pull a plotting library and the wizard's widgets, about 0.2 s of imports that the first paint of
the options menu must not wait for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmtool_tui.screens.detail import DetailScreen
from llmtool_tui.screens.help import HelpScreen
from llmtool_tui.screens.history import HistoryScreen
from llmtool_tui.screens.monitor import MonitorScreen
from llmtool_tui.screens.options import OptionsScreen

if TYPE_CHECKING:
    from llmtool_tui.screens.compare import CompareScreen
    from llmtool_tui.screens.performance import PerformanceScreen
    from llmtool_tui.screens.wizard import NewSessionWizard

_LOADED_ON_USE = {
    "CompareScreen": "compare",
    "PerformanceScreen": "performance",
    "NewSessionWizard": "wizard",
}

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


def __getattr__(name: str) -> Any:
    if name in _LOADED_ON_USE:
        module = importlib.import_module(f"llmtool_tui.screens.{_LOADED_ON_USE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Package exports imported on first use (PEP 562), so that the first paint waits for none of them.

The options menu needs almost nothing; every other screen, dialog and widget pulls imports of its
own (pydantic through the metadata models, a plotting library, the text area's document model):
0.3 to 0.45 s in all on this machine, which ``llmtool_tui.screens`` and friends would otherwise
cost before the first frame. A package declares what it exports and from which module, and
``from llmtool_tui.screens import DetailScreen`` imports ``screens.detail`` when it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports_on_use(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``modules[name]`` when asked."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__

"""``python -m llmtool_tui``: the same as the ``llmtool-tui`` command."""

from llmtool_tui.cli import entry

entry()

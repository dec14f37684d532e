"""Modal dialogs, one per module."""

from llmtool_tui.dialogs.confirm import ConfirmDialog
from llmtool_tui.dialogs.locate_dataset import LocateDatasetDialog
from llmtool_tui.dialogs.message import MessageDialog
from llmtool_tui.dialogs.relaunch_edit import RelaunchEditDialog, RelaunchEdits

__all__ = [
    "ConfirmDialog",
    "LocateDatasetDialog",
    "MessageDialog",
    "RelaunchEditDialog",
    "RelaunchEdits",
]

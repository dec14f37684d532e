"""Modal dialogs, one per module."""

from llmtool_tui.dialogs.cleanup import CleanupDialog
from llmtool_tui.dialogs.confirm import ConfirmDialog
from llmtool_tui.dialogs.export_template import ExportTemplateDialog, TemplateExported
from llmtool_tui.dialogs.import_template import ImportTemplateDialog
from llmtool_tui.dialogs.locate_dataset import LocateDatasetDialog
from llmtool_tui.dialogs.message import MessageDialog
from llmtool_tui.dialogs.notes import NotesDialog
from llmtool_tui.dialogs.relaunch_edit import RelaunchEditDialog, RelaunchEdits
from llmtool_tui.dialogs.tags import TagsDialog

__all__ = [
    "CleanupDialog",
    "ConfirmDialog",
    "ExportTemplateDialog",
    "ImportTemplateDialog",
    "LocateDatasetDialog",
    "MessageDialog",
    "NotesDialog",
    "RelaunchEditDialog",
    "RelaunchEdits",
    "TagsDialog",
    "TemplateExported",
]

"""Modal dialogs, one per module, each imported when first used (see llmtool_tui.lazy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmtool_tui.lazy import exports_on_use

if TYPE_CHECKING:
    from llmtool_tui.dialogs.cleanup import CleanupDialog
    from llmtool_tui.dialogs.confirm import ConfirmDialog
    from llmtool_tui.dialogs.export_template import ExportTemplateDialog, TemplateExported
    from llmtool_tui.dialogs.import_template import ImportTemplateDialog, import_summary
    from llmtool_tui.dialogs.locate_dataset import LocateDatasetDialog
    from llmtool_tui.dialogs.message import MessageDialog
    from llmtool_tui.dialogs.notes import NotesDialog
    from llmtool_tui.dialogs.relaunch_edit import RelaunchEditDialog, RelaunchEdits
    from llmtool_tui.dialogs.tags import TagsDialog

__getattr__ = exports_on_use(
    __name__,
    {
        "CleanupDialog": "cleanup",
        "ConfirmDialog": "confirm",
        "ExportTemplateDialog": "export_template",
        "ImportTemplateDialog": "import_template",
        "LocateDatasetDialog": "locate_dataset",
        "MessageDialog": "message",
        "NotesDialog": "notes",
        "RelaunchEditDialog": "relaunch_edit",
        "RelaunchEdits": "relaunch_edit",
        "TagsDialog": "tags",
        "TemplateExported": "export_template",
        "import_summary": "import_template",
    },
)

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
    "import_summary",
]

"""The steps of the New Training Session wizard and the widgets they share, one per module."""

from llmtool_tui.widgets.wizard.analysis_progress import AnalysisProgress
from llmtool_tui.widgets.wizard.analysis_step import AnalysisStep
from llmtool_tui.widgets.wizard.bar_chart import BarChart
from llmtool_tui.widgets.wizard.columns_step import ColumnsStep
from llmtool_tui.widgets.wizard.dataset_browser import DatasetBrowser
from llmtool_tui.widgets.wizard.dataset_step import DatasetStep
from llmtool_tui.widgets.wizard.hyperparameters_step import HyperparametersStep
from llmtool_tui.widgets.wizard.mode_step import ModeStep
from llmtool_tui.widgets.wizard.models_step import ModelChoice, ModelsStep
from llmtool_tui.widgets.wizard.path_suggester import PathSuggester
from llmtool_tui.widgets.wizard.save_step import SaveStep
from llmtool_tui.widgets.wizard.step import WizardStep
from llmtool_tui.widgets.wizard.summary_step import SummaryStep

__all__ = [
    "AnalysisProgress",
    "AnalysisStep",
    "BarChart",
    "ColumnsStep",
    "DatasetBrowser",
    "DatasetStep",
    "HyperparametersStep",
    "ModeStep",
    "ModelChoice",
    "ModelsStep",
    "PathSuggester",
    "SaveStep",
    "SummaryStep",
    "WizardStep",
]

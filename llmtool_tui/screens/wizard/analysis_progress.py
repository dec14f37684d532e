"""The dataset analysis's progress: its current stage and a bar, shown while it runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from llmtool_tui.untrusted import visible


class AnalysisProgress(Horizontal):
    """``Analysing: detecting languages ━━━━━━━━╸━━━ 62%``; hidden when no analysis runs."""

    DEFAULT_CSS = """
    AnalysisProgress {
        height: 1;
        padding: 0 1;
        display: none;
        &.-running {
            display: block;
        }
        #analysis-stage {
            width: 1fr;
            text-overflow: ellipsis;
            text-wrap: nowrap;
        }
        ProgressBar {
            width: auto;
        }
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("Analysing", id="analysis-stage", markup=False)
        # No ETA: the stages (reading, language detection, tokenising) run at unrelated speeds.
        yield ProgressBar(total=1.0, show_eta=False)

    def start(self, dataset_name: str) -> None:
        """Show the bar at zero for an analysis of ``dataset_name``."""
        self.query_one("#analysis-stage", Label).update(f"Analysing {visible(dataset_name)}")
        self.query_one(ProgressBar).update(total=1.0, progress=0.0)
        self.add_class("-running")

    def advance(self, stage: str, fraction: float) -> None:
        """Show the analysis at ``stage``, ``fraction`` (0 to 1) done."""
        self.query_one("#analysis-stage", Label).update(f"Analysing: {visible(stage)}")
        self.query_one(ProgressBar).update(progress=max(0.0, min(1.0, fraction)))

    def stop(self) -> None:
        """Hide the bar."""
        self.remove_class("-running")

"""The evaluations of a run so far: one row per model, split and evaluation step.

An evaluation whose predictions all fell in one class says so in its last column: a model that
collapsed onto one class is seen while it trains, not only in the details afterwards.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.evaluations import single_predicted_class
from engine.progress import EvaluationDone
from llmtool_tui.untrusted import literal

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Model", "model"),
    ("Epoch", "epoch"),
    ("Step", "step"),
    ("Loss", "loss"),
    ("Macro F1", "macro_f1"),
    ("Accuracy", "accuracy"),
    ("Predicted", "predicted"),
)


def format_metric(value: float | None, digits: int = 3) -> str:
    """A metric with ``digits`` decimals, ``-`` when unknown."""
    return "-" if value is None else f"{value:.{digits}f}"


def predicted_cell(event: EvaluationDone) -> Text:
    """``⚠ only <class>`` when every prediction fell in one class; empty otherwise."""
    only = single_predicted_class(event)
    if only is None:
        return Text("")
    # The class name comes from the dataset.
    cell = literal(f"⚠ only {only}", "bold yellow")
    cell.no_wrap, cell.overflow = True, "ellipsis"
    return cell


class EvaluationsTable(DataTable[Text]):
    """Evaluations in the order they happened; a repeated one (after a resume) replaces its row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=False)

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def add_evaluation(self, event: EvaluationDone) -> None:
        """Show ``event``; keep the newest row in view."""
        # The split too: a final test evaluation falls on the last validation one's step.
        key = f"{event.model or ''}@{event.split}@{event.step}"
        model = literal(event.model or "-")  # from the progress file
        model.no_wrap, model.overflow = True, "ellipsis"
        cells = {
            "model": model,
            "epoch": Text(format_metric(event.epoch, 2), justify="right"),
            "step": Text(str(event.step), justify="right"),
            "loss": Text(format_metric(event.eval_loss, 4), justify="right"),
            "macro_f1": Text(format_metric(event.macro_f1), justify="right"),
            "accuracy": Text(format_metric(event.accuracy), justify="right"),
            "predicted": predicted_cell(event),
        }
        if key in self.rows:
            for column, cell in cells.items():
                self.update_cell(key, column, cell)
            return
        self.add_row(*cells.values(), key=key)
        self.scroll_end(animate=False)

"""Step 3: what the analysis found: samples, drops, strategy, distributions, tokens, warnings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, Static

from llmtool_tui.screens.wizard.bar_chart import BarChart
from llmtool_tui.screens.wizard.facts import facts_table
from llmtool_tui.screens.wizard.step import WizardStep
from llmtool_tui.untrusted import visible

if TYPE_CHECKING:
    from engine.analysis import DatasetAnalysis


#: Width of the keys of the facts blocks, so that their values line up.
KEY_WIDTH = 15


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 text``, ``1,200 texts``, ``4 categories``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def labels_text(analysis: DatasetAnalysis) -> str:
    """``column 'label' (single-column)``, ``columns 'a', 'b' (indicator-columns)``…"""
    config = analysis.dataset_config
    columns = config.label_columns or ([config.label_column] if config.label_column else [])
    named = ", ".join(repr(column) for column in columns)
    layout = config.label_layout or "single-column"
    if config.label_delimiter:
        layout += f", delimiter {config.label_delimiter!r}"
    return f"{'columns' if len(columns) > 1 else 'column'} {named} ({layout})"


def overview_rows(analysis: DatasetAnalysis) -> list[tuple[str, str]]:
    """Dataset, samples kept and dropped (with why), labels, strategy and split."""
    config = analysis.dataset_config
    name = Path(config.primary_file or "").name
    read_as = ", ".join(part for part in (config.format, config.encoding, config.sheet) if part)
    samples = counted(config.total_samples, "text") + " kept"
    if config.rows_read is not None:
        samples += f" of {counted(config.rows_read, 'row')} read"
    dropped = ", ".join(
        f"{count:,} {reason}" for reason, count in config.rows_dropped.items() if count
    )
    split = config.split
    split_text = f"train {split.train_size or 0:,} · validation {split.validation_size or 0:,}"
    if split.test_size:
        split_text += f" · test {split.test_size:,}"
    split_text += f" (seed {split.seed}{', stratified' if split.stratified else ''})"
    rows = [
        ("Dataset", f"{name} ({read_as})" if read_as else name),
        ("Total samples", samples),
        ("Dropped rows", dropped or "none"),
    ]
    if config.duplicates:
        rows.append(("Duplicates", f"{counted(config.duplicates, 'duplicated text')} (kept)"))
    return [
        *rows,
        ("Text column", config.text_column or "-"),
        ("Labels", labels_text(analysis)),
        (
            "Strategy",
            f"{config.strategy}, {counted(config.num_categories, 'category', 'categories')}",
        ),
        ("Split", split_text),
    ]


def token_rows(analysis: DatasetAnalysis) -> list[tuple[str, str]]:
    """Token statistics, how they were counted, and the long-document flag."""
    text = analysis.text_analysis
    stats = text.text_length_stats
    counted = text.tokenizer or "-"
    if text.exact is False and not counted.startswith("approximation"):
        counted += " (approximate)"
    long_flag = "yes" if text.requires_long_document_model else "no"
    if text.long_document_share is not None:
        long_flag += (
            f": {text.long_document_share:.1%} of the texts are longer than "
            f"{analysis.model or 'the model'} takes"
        )
    if text.requires_long_document_model:
        long_flag += "; a long-document model is recommended"
    return [
        (
            "Tokens per text",
            f"mean {_number(stats.token_mean)} · median "
            f"{_number(stats.token_median)} · p95 {_number(stats.token_p95)} · "
            f"max {_number(stats.token_max)}",
        ),
        ("Counted with", counted),
        ("Long documents", long_flag),
    ]


def language_caption(analysis: DatasetAnalysis) -> str:
    """``Languages (column 'language')`` or ``Languages (py3langid on 1,000 texts)``."""
    config = analysis.language_config
    method = config.detection_method or "unknown method"
    if method.startswith("column:"):
        source = f"column {method.removeprefix('column:')!r}"
    else:
        sample = config.detection_sample_size
        source = f"detected with {method}" + (f" on {sample:,} texts" if sample else "")
    return f"Languages ({source}) · model strategy: {config.model_strategy}"


class AnalysisStep(WizardStep):
    """The analysis's findings; Enter accepts them."""

    DEFAULT_CSS = """
    AnalysisStep {
        #analysis-body {
            height: 1fr;
        }
        .analysis-caption {
            margin-top: 1;
            text-style: bold;
        }
        #analysis-tokens {
            margin-top: 1;
        }
        #analysis-warnings {
            color: $text-warning;
            margin-top: 1;
        }
    }
    """

    TITLE = "Analysis"
    HINT = "What the analysis found; ↑/↓ scroll."

    class AnalysisAccepted(Message):
        """The analysis was reviewed: go on to the training mode."""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="analysis-body", can_focus=True):
            yield Static("", id="analysis-overview")
            yield Label("Category distribution", classes="analysis-caption")
            yield BarChart(id="category-chart")
            yield Label("", id="language-caption", classes="analysis-caption", markup=False)
            yield BarChart(id="language-chart")
            yield Static("", id="analysis-tokens")
            yield Static("", id="analysis-warnings")

    def enter_step(self) -> None:
        self.refresh_step()
        self.query_one("#analysis-body").focus()

    def refresh_step(self) -> None:
        analysis = self.state.analysis
        if analysis is None:
            return
        self.query_one("#analysis-overview", Static).update(
            facts_table(overview_rows(analysis), key_width=KEY_WIDTH)
        )
        self.query_one("#category-chart", BarChart).show_counts(
            analysis.dataset_config.category_distribution
        )
        # The caption names the language column when there is one.
        self.query_one("#language-caption", Label).update(visible(language_caption(analysis)))
        self.query_one("#language-chart", BarChart).show_counts(
            analysis.language_config.language_distribution
        )
        self.query_one("#analysis-tokens", Static).update(
            facts_table(token_rows(analysis), key_width=KEY_WIDTH)
        )
        warnings = analysis.dataset_config.warnings
        self.query_one("#analysis-warnings", Static).update(
            Content("\n").join(Content.assemble("⚠ ", visible(warning)) for warning in warnings)
            if warnings
            else Content("No warnings.")
        )

    def confirm(self) -> None:
        self.post_message(self.AnalysisAccepted())

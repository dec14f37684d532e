"""Step 7: the whole configuration, section by section, as the metadata file will hold it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static

from engine.schema import TrainingMetadata
from llmtool_tui.screens.wizard.facts import facts_table
from llmtool_tui.screens.wizard.step import WizardStep

#: Sections shown, in the document's order; the others (output_paths, environment) are written
#: when the session is created and when it runs.
SECTIONS = (
    "training_session",
    "dataset_config",
    "language_config",
    "text_analysis",
    "model_config",
    "execution_status",
)
#: Filled in when the session is created, at launch.
ASSIGNED_AT_LAUNCH = frozenset({"timestamp", "session_id", "session_uuid"})
KEY_WIDTH = 28


def format_value(value: Any) -> str:
    """A JSON value as one line: lists joined, mappings as ``key: value``, null as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(format_value(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {format_value(item)}" for key, item in value.items()) or "-"
    return str(value)


def section_rows(
    model: BaseModel, document: dict[str, Any], prefix: str = ""
) -> list[tuple[str, str]]:
    """``(key, value)`` rows of a section; nested sections (split, fingerprint) are expanded."""
    rows: list[tuple[str, str]] = []
    for key, value in document.items():
        attribute = getattr(model, key, None)
        if isinstance(attribute, BaseModel) and isinstance(value, dict):
            rows += section_rows(attribute, value, f"{prefix}{key}.")
        elif not prefix and key in ASSIGNED_AT_LAUNCH:
            rows.append((key, "(assigned at launch)"))
        else:
            rows.append((f"{prefix}{key}", format_value(value)))
    return rows


def summary_sections(metadata: TrainingMetadata) -> dict[str, list[tuple[str, str]]]:
    """The rows of every section the session starts with, by the section's name in the file."""
    document = metadata.to_document()
    models: dict[str, BaseModel] = {
        "training_session": metadata.training_session,
        "dataset_config": metadata.dataset_config,
        "language_config": metadata.language_config,
        "text_analysis": metadata.text_analysis,
        "model_config": metadata.training_model_config,
    }
    sections = {name: section_rows(section, document[name]) for name, section in models.items()}
    # Before the worker runs, execution_status holds only the status: the worker writes the rest.
    sections["execution_status"] = [("status", metadata.execution_status.status)]
    return sections


class SummaryStep(WizardStep):
    """The configuration as it will be saved; Enter goes on to the save question."""

    DEFAULT_CSS = """
    SummaryStep {
        #summary-body {
            height: 1fr;
        }
        .summary-section {
            text-style: bold;
            color: $text-accent;
        }
        .summary-rows {
            margin-bottom: 1;
        }
    }
    """

    TITLE = "Summary"
    HINT = "The configuration as it will be saved; ↑/↓ scroll, Escape edits."

    class SummaryConfirmed(Message):
        """The configuration is right: go on to the save question."""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="summary-body", can_focus=True):
            yield Static("Waiting for the analysis…", id="summary-waiting", markup=False)
            for name in SECTIONS:
                yield Label(name, classes="summary-section")
                yield Static("", id=f"summary-{name}", classes="summary-rows")

    def enter_step(self) -> None:
        self.refresh_step()
        self.query_one("#summary-body").focus()

    def refresh_step(self) -> None:
        metadata = self.state.preview(self.engine)
        self.query_one("#summary-waiting").display = metadata is None
        for widget in self.query(".summary-section, .summary-rows"):
            widget.display = metadata is not None
        if metadata is None:
            return
        for name, rows in summary_sections(metadata).items():
            self.query_one(f"#summary-{name}", Static).update(
                facts_table(rows, key_width=KEY_WIDTH)
            )

    def confirm(self) -> None:
        if self.state.preview(self.engine) is None:
            self.show_error("Wait for the analysis to finish.")
            return
        self.post_message(self.SummaryConfirmed())

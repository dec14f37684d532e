"""Archive old sessions: ask for the age and status, show the plan, apply it when confirmed.

The TUI's ``llmtool-tui cleanup --older-than AGE [--status S]``, in the engine's two steps:
``Engine.plan_cleanup`` reads and decides (shown here: what would move, the models that stay,
what is left and why), then ``Engine.apply_cleanup`` moves, only when the user presses Archive
after seeing that plan. Both run in a thread. Changing the age or status withdraws the plan, so
what is archived is always what was shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from engine.cleanup import ARCHIVABLE_STATUSES, CleanupPlan, CleanupResult, parse_duration
from engine.errors import BadInputError, OperationError, in_app
from engine.facade import Engine
from engine.store import StoreError
from llmtool_tui.untrusted import literal, visible

DEFAULT_AGE = "90d"
ANY_STATUS = "any"


def _section(text: Text, title: str, lines: Iterable[str]) -> None:
    listed = list(lines)
    if not listed:
        return
    text.append(f"\n{title}\n", style="bold")
    for line in listed:
        # Each line quotes file names, ids or reasons from the sessions folder.
        text.append(f"  {visible(line)}\n")


def plan_text(plan: CleanupPlan, done: CleanupResult | None = None) -> Text:
    """The plan (or, with ``done``, what was done) as the dialog shows it, paths literal.

    File names and ids come from anyone who dropped a file in the sessions folder: escaped.
    """
    where = plan.relative
    before = (plan.now - plan.older_than).strftime("%Y-%m-%d %H:%M")
    which = f"{plan.status} session" if plan.status else "session"
    items = [archived.item for archived in done.archived] if done else plan.to_archive
    text = Text()
    if items:
        verb = "Archived" if done else "Would archive"
        text.append(
            f"{verb} {len(items)} {which}{'s' if len(items) > 1 else ''} last modified before "
            f"{before} (to {where(plan.workspace.archive_dir)}/):\n",
            style="bold",
        )
        for item in items:
            # Ids, not paths: the dialog is narrow, and the files' places are said above.
            label = visible(item.session_id or item.session_file.name)
            text.append(f"  {label}  {item.status or '-'}")
            text.append("  + run folder\n" if item.run_dir else "\n", style="dim")
    else:
        text.append(f"No {which} last modified before {before} to archive.\n", style="bold")
    kept = done.kept_models if done else plan.kept_models
    _section(text, "Trained models kept (never moved):", (f"{where(p)}/" for p in kept))
    left = [*plan.protected, *plan.unreadable_left, *(done.skipped if done else [])]
    _section(text, "Left in place:", (f"{where(e.session_file)}: {e.reason}" for e in left))
    temps = done.temp_files_removed if done else len(plan.stale_temp_files)
    if temps:
        verb = "Removed" if done else "Would remove"
        text.append(f"\n{verb} {temps} stale temporary file(s) left by killed writers.\n")
    if done and done.errors:
        _section(text, "Errors:", done.errors)
    return text


class CleanupDialog(ModalScreen[CleanupResult | None]):
    """Dismissed with what was archived, or None when nothing was."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.plan: CleanupPlan | None = None
        self.result: CleanupResult | None = None
        self._planned_for: tuple[str, object] | None = None
        """The (age, status) typed when the plan shown was asked for."""

    def compose(self) -> ComposeResult:
        statuses = [
            ("any status", ANY_STATUS),
            *((status, status) for status in ARCHIVABLE_STATUSES),
        ]
        with Vertical(classes="dialog -wide"):
            yield Label("Archive old sessions", classes="dialog-title")
            yield Static(
                "Sessions last modified longer ago than the age move to logs/archive/ with their "
                "run folders. Trained models never move; running sessions are never archived.",
                classes="dialog-body",
            )
            with Grid(classes="dialog-form"):
                yield Label("Older than")
                yield Input(DEFAULT_AGE, placeholder="90d, 12h, 2w", id="cleanup-age",
                            compact=True)  # fmt: skip
                yield Label("Status")
                yield Select(statuses, value=ANY_STATUS, allow_blank=False, id="cleanup-status",
                             compact=True)  # fmt: skip
            yield Static(id="cleanup-error", classes="form-errors")
            with VerticalScroll(id="cleanup-plan"):
                yield Static(id="cleanup-plan-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Show plan", id="plan")
                yield Button("Archive", variant="error", id="apply", disabled=True)
                yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#cleanup-age", Input).focus()
        self._make_plan()

    @on(Input.Changed, "#cleanup-age")
    @on(Select.Changed, "#cleanup-status")
    def _withdraw_plan(self) -> None:
        if self.result is not None or self._inputs() == self._planned_for:
            return
        self.plan = None
        self._planned_for = None
        self.query_one("#apply", Button).disabled = True
        self.query_one("#cleanup-plan-text", Static).update(
            Text("Press Enter or Show plan to see what would be archived.", style="dim")
        )

    @on(Input.Submitted, "#cleanup-age")
    def _submitted(self) -> None:
        self._make_plan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self._make_plan()
        elif event.button.id == "apply":
            self._apply()
        else:
            self.action_close()

    def action_close(self) -> None:
        """Close; what was archived (if anything) goes back to the history."""
        self.dismiss(self.result)

    def _inputs(self) -> tuple[str, object]:
        return (
            self.query_one("#cleanup-age", Input).value,
            self.query_one("#cleanup-status", Select).value,
        )

    def _make_plan(self) -> None:
        if self.result is not None:
            return
        inputs = self._inputs()
        age, status = inputs
        try:
            older_than = parse_duration(age)
        except BadInputError as error:
            self._show_error(in_app(error))
            return
        self._show_error("")
        self.query_one("#cleanup-plan-text", Static).update(
            Text("Reading the sessions…", style="dim")
        )
        self._plan(inputs, older_than, None if status == ANY_STATUS else str(status))

    @work(group="cleanup", exclusive=True, exit_on_error=False)
    async def _plan(
        self, inputs: tuple[str, object], older_than: timedelta, status: str | None
    ) -> None:
        engine = self.engine
        try:
            plan: CleanupPlan = await asyncio.to_thread(engine.plan_cleanup, older_than, status)
        except (BadInputError, OperationError, StoreError) as error:
            self._show_error(in_app(error))
            return
        if inputs != self._inputs():
            # Changed while the plan was made: it is not the plan of what is shown.
            return
        self.plan = plan
        self._planned_for = inputs
        self.query_one("#cleanup-plan-text", Static).update(plan_text(plan))
        apply = self.query_one("#apply", Button)
        count = len(plan.to_archive)
        apply.label = f"Archive {count} session{'s' if count != 1 else ''}"
        apply.disabled = not (plan.to_archive or plan.stale_temp_files)

    @work(group="cleanup", exclusive=True, exit_on_error=False)
    async def _apply(self) -> None:
        plan = self.plan
        if plan is None:
            return
        self.query_one("#apply", Button).disabled = True
        for field in self.query(Input):
            field.disabled = True
        self.query_one(Select).disabled = True
        self.query_one("#plan", Button).disabled = True
        self.result = await asyncio.to_thread(self.engine.apply_cleanup, plan)
        self.query_one("#cleanup-plan-text", Static).update(plan_text(plan, self.result))
        self.query_one("#close", Button).focus()

    def _show_error(self, message: str) -> None:
        self.query_one("#cleanup-error", Static).update(literal(message))

"""The base of the modal forms: how they are submitted and how they are closed.

Enter in a field or the form's primary button submits; Escape or any other button closes the
dialog with None. Each form says which button submits and what submitting does.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button, Input

ResultType = TypeVar("ResultType")


class FormDialog(ModalScreen[ResultType | None]):
    """A modal form, dismissed with its result once submitted, or with None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    SUBMIT_BUTTON: ClassVar[str]
    """The id of the button that submits the form."""

    def submit(self) -> None:
        """Check what was typed and act on it (dismissing the dialog, or saying why not)."""
        raise NotImplementedError

    def field_submitted(self, field_input: Input) -> None:
        """Enter in ``field_input``: submits (a longer form may move to the next field instead)."""
        self.submit()

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        self.field_submitted(event.input)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == self.SUBMIT_BUTTON:
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)

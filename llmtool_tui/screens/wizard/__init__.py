"""The New Training Session wizard: its screen, its state, and its steps, one per module.

``screen`` is the screen; ``state`` the choices it keeps; each ``*_step`` module one step of it,
and the other modules the widgets those steps share (a file browser with path completion, a bar
chart, tables of facts, the analysis's progress). They are the parts of this one screen, not
widgets for the rest of the app.
"""

from llmtool_tui.screens.wizard.screen import STEP_IDS, NewSessionWizard

__all__ = ["STEP_IDS", "NewSessionWizard"]

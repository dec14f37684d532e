"""User-facing errors. Their message is one line naming the problem and the fix.

``BadInputError`` means the user asked for something wrong (exit code 2); ``OperationError``
means a valid request failed while being carried out (exit code 1).

A fix is often an action of a front end: a flag in the shell, a key in the app. Such an error
carries a ``Remedy`` worded for each, so that neither front end tells its user about the other's
controls: ``str(error)`` is the shell's wording (the CLI prints it, logs keep it), and
``in_app(error)`` the app's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Remedy:
    """What the user can do about a refusal, in the shell's words and in the app's."""

    shell: str
    """``resume with --force to accept that``"""
    app: str
    """``press r to resume anyway``"""


class UserError(Exception):
    """An error whose message is for the user: the problem, then the fix when there is one."""

    def __init__(self, problem: str, remedy: Remedy | None = None) -> None:
        super().__init__(problem if remedy is None else f"{problem}; {remedy.shell}")
        self.problem = problem
        self.remedy = remedy

    def in_app(self) -> str:
        """The message with the fix in the app's words."""
        return str(self) if self.remedy is None else f"{self.problem}; {self.remedy.app}"


class BadInputError(UserError):
    """The request is invalid: a missing file, an unknown column, a bad value."""


class OperationError(UserError):
    """A valid request failed: a training crashed, a process could not be stopped."""


class DatasetMissingError(BadInputError):
    """The session's dataset file is no longer where its metadata says (moved or deleted).

    The specification's "Failed to reconstruct bundle from metadata" case: the app offers to
    locate the file (``Engine.locate_dataset``), the CLI takes its new path (``--dataset``).
    """

    def __init__(self, session_id: str, dataset: str) -> None:
        super().__init__(
            f"dataset {dataset} of session {session_id} was moved or deleted",
            Remedy(
                shell="resume or relaunch with --dataset NEW_PATH (resume checks that it is the"
                " same file)",
                app="give its new location when asked",
            ),
        )
        self.dataset = dataset


def in_app(error: BaseException) -> str:
    """An error's message as the app shows it: the app's wording of the fix when it has one."""
    return error.in_app() if isinstance(error, UserError) else str(error)

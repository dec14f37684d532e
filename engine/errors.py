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
from typing import Literal


@dataclass(frozen=True)
class Remedy:
    """What the user can do about a refusal, in the shell's words and in the app's."""

    shell: str
    """``resume with --force to accept that``"""
    app: str
    """``press r to resume anyway``"""


def worded(problem: str, remedy: Remedy | None, *, app: bool = False) -> str:
    """``problem; fix``, the fix in the app's words or the shell's."""
    if remedy is None:
        return problem
    return f"{problem}; {remedy.app if app else remedy.shell}"


class UserError(Exception):
    """An error whose message is for the user: the problem, then the fix when there is one."""

    def __init__(self, problem: str, remedy: Remedy | None = None) -> None:
        super().__init__(worded(problem, remedy))
        self.problem = problem
        self.remedy = remedy

    def in_app(self) -> str:
        """The message with the fix in the app's words."""
        return worded(self.problem, self.remedy, app=True)


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


#: How a refusal can be lifted: ``final`` not by resuming (relaunch instead, or stop first),
#: ``dataset-missing`` by locating the dataset, ``forceable`` by resuming with ``force``,
#: ``model-missing`` by giving the model's path (importing the template again).
ObstacleKind = Literal["final", "dataset-missing", "forceable", "model-missing"]


@dataclass(frozen=True)
class Obstacle:
    """Why a session cannot be resumed now, and what to do about it in each front end's words."""

    problem: str
    remedy: Remedy | None
    kind: ObstacleKind = "final"

    def __str__(self) -> str:
        return worded(self.problem, self.remedy)

    def in_app(self) -> str:
        """The reason with the fix in the app's words."""
        return worded(self.problem, self.remedy, app=True)


class ResumeRefusedError(BadInputError):
    """A session that cannot be resumed now; its obstacle says whether an answer lifts it."""

    def __init__(self, session_id: str, obstacle: Obstacle) -> None:
        super().__init__(f"cannot resume {session_id}: {obstacle.problem}", obstacle.remedy)
        self.obstacle = obstacle


def in_app(error: BaseException) -> str:
    """An error's message as the app shows it: the app's wording of the fix when it has one."""
    return error.in_app() if isinstance(error, UserError) else str(error)

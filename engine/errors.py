"""User-facing errors. Their message is one line naming the problem and the fix.

``BadInputError`` means the user asked for something wrong (exit code 2); ``OperationError``
means a valid request failed while being carried out (exit code 1).
"""


class BadInputError(Exception):
    """The request is invalid: a missing file, an unknown column, a bad value."""


class OperationError(Exception):
    """A valid request failed: a training crashed, a process could not be stopped."""


class DatasetMissingError(BadInputError):
    """The session's dataset file is no longer where its metadata says (moved or deleted).

    The specification's "Failed to reconstruct bundle from metadata" case: the app offers to
    locate the file (``Engine.locate_dataset``).
    """

    def __init__(self, session_id: str, dataset: str) -> None:
        super().__init__(
            f"dataset {dataset} of session {session_id} was moved or deleted; locate it"
            " (in the app) or relaunch with --dataset PATH"
        )
        self.dataset = dataset

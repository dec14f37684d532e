"""User-facing errors. Their message is one line naming the problem and the fix.

``BadInputError`` means the user asked for something wrong (exit code 2); ``OperationError``
means a valid request failed while being carried out (exit code 1).
"""


class BadInputError(Exception):
    """The request is invalid: a missing file, an unknown column, a bad value."""


class OperationError(Exception):
    """A valid request failed: a training crashed, a process could not be stopped."""

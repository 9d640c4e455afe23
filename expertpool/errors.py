"""Expected failures. The CLI catches `ExpertPoolError` once, prints its message, exits non-zero."""
from __future__ import annotations


class ExpertPoolError(Exception):
    """An expected error with a message a user can act on (names the file, row, flag to fix)."""

    exit_code = 1


class InputError(ExpertPoolError):
    """Bad input: a file that cannot be read, a malformed value, an unknown option value."""

    exit_code = 2


class StoreMissing(InputError):
    """The store named does not exist and the command may not create it (a mistyped --db)."""


class ImportRejected(ExpertPoolError):
    """An import finished but rejected rows; the report says which and why."""

    def __init__(self, message: str, report: object | None = None):
        super().__init__(message)
        self.report = report


class NotFound(ExpertPoolError):
    """A record named by id does not exist."""


class PermissionDenied(ExpertPoolError):
    """The acting user's role does not allow the command."""

    exit_code = 3


class ConcurrentEdit(ExpertPoolError):
    """Someone else changed the record since it was read; nothing was written."""

    exit_code = 4


class Infeasible(ExpertPoolError):
    """The panel rules cannot all be met; `diagnosis` says which clash and how to relax them."""

    def __init__(self, message: str, diagnosis: object | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis


class StoreUnavailable(ExpertPoolError):
    """The configured store cannot be reached or is not ready (e.g. Elasticsearch is down): a
    storage failure."""

    exit_code = 5

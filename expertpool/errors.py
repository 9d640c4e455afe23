"""Expected failures. The CLI catches `ExpertPoolError` once, prints its message, exits non-zero
with the error's `exit_code` (README: 1 general, 2 bad input, 3 permission denied, 4 concurrent
edit, 5 storage failure)."""
from __future__ import annotations


class ExpertPoolError(Exception):
    """An expected error with a message a user can act on (names the file, row, flag to fix)."""

    exit_code = 1


class InputError(ExpertPoolError):
    """Bad input: a file that cannot be read, a malformed value, an unknown option value."""

    exit_code = 2


class StoreMissing(InputError):
    """The store named does not exist and the command may not create it (a mistyped --db)."""


class NotFound(ExpertPoolError):
    """A record named by id does not exist."""


class PermissionDenied(ExpertPoolError):
    """The acting user's role does not allow the command."""

    exit_code = 3


class ConcurrentEdit(ExpertPoolError):
    """Someone else changed the record since it was read; nothing was written."""

    exit_code = 4


class StoreFailed(ExpertPoolError):
    """The store could not carry out an operation (disk full or read-only, database locked past
    the timeout, a damaged file); a write that failed was rolled back. Translated from the
    backend's own errors where the backend is touched, so callers catch only ours."""

    exit_code = 5


class StoreDamaged(StoreFailed):
    """A stored record can no longer be read as what it should be (edited or corrupted outside the
    tool): the message names the table (index) and the record's id. Nothing is skipped or guessed."""


class StoreUnavailable(StoreFailed):
    """The configured store cannot be reached or is not ready (e.g. Elasticsearch is down)."""

"""Errors of the stream processors. Messages carry no personal data."""

from schemas.exceptions import ConsentError


class StreamError(ConsentError):
    """A stream processor cannot go on; the process exits so a supervisor restarts it."""


class TransactionFailed(StreamError):
    """The broker did not take a transaction after retries (or fenced this process)."""


class StateRestoreFailed(StreamError):
    """A partition's consent state could not be restored from `consent-state`."""

"""The bench's one exception type, apart so every phase module can raise it without cycles."""

from schemas.exceptions import ConsentError


class BenchError(ConsentError):
    """The benchmark could not complete a phase (timeout, lost records, crashed component)."""

"""Errors raised by the sinks; psycopg and SMTP errors are translated at the boundary."""

from schemas.exceptions import ConsentError


class SinkError(ConsentError):
    """A sink cannot do its job (database unreachable, bad migration, refused destination)."""


class DatabaseError(SinkError):
    """PostgreSQL refused or could not be reached."""

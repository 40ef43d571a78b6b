"""Errors of reading the consent table. Messages carry no personal data."""

from schemas.exceptions import ConsentError


class ConsentTableError(ConsentError):
    """The consent table cannot be read or brought up to date."""


class BarrierStalled(ConsentTableError):
    """Mail waits on consent input that has made no progress for too long.

    The mail stays undecided (fail closed); the process exits so a supervisor restarts it and
    the stall is visible, instead of a process that looks alive and decides nothing.
    """


class EndOffsetsUnavailable(ConsentTableError):
    """The broker did not answer for the consent inputs' end offsets in time."""

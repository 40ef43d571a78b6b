"""Errors of the operator tooling: the local stack, topic administration, the demo."""

from schemas.exceptions import ConsentError


class OpsError(ConsentError):
    """An operator command could not do its job."""


class InfraError(OpsError):
    """The local broker or database could not be started or stopped."""


class TopicError(OpsError):
    """Topics could not be created or do not have the layout the pipeline needs."""

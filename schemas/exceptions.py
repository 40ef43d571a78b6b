"""Exception hierarchy: one root for the whole product, one subclass per failure site.

Messages never carry personal data; callers may log them as they are.
"""


class ConsentError(Exception):
    """Root of every error raised by the consent pipeline."""


class SchemaError(ConsentError):
    """An input could not be turned into a valid event or record."""


class InvalidEmail(SchemaError):
    """An e-mail address failed normalisation (the message says why, not what)."""


class InvalidEvent(SchemaError):
    """A message is not a valid event: bad JSON, unknown type, newer version, bad fields.

    `reason` is short and free of personal data; it is what a dead letter records.
    """

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class ConfigError(ConsentError):
    """A configuration file or setting is missing or malformed (the message says where)."""


class ClientContractError(ConsentError):
    """The Kafka client broke its own contract (a delivered record without a position): a bug
    to crash on, not a record to skip."""

"""How every process logs: one JSON object a line for the daemons, readable text for commands.

Why JSON: SREs ship these lines to a log store and filter by field (process, level, logger);
a free-text line cannot be parsed reliably. Why never personal data: the lines leave the
company's systems (log stores, support tickets). Messages carry contact keys, request ids,
topics, partitions and offsets at most — never an address, a name or a phone number — and
`tests/integration/test_logs.py` runs traffic at debug level and searches every line for
the personal data it sent. librdkafka's own messages are routed through here too (the
`logger` client property, `schemas.settings`), so no process writes a line of another shape.
"""

import logging
import os
import sys
import traceback
from datetime import UTC, datetime

import orjson

DAEMONS = frozenset({"worker", "filter", "sink", "unsubscribe-server", "ingest-server",
                     "smtp-capture", "stack"})


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": self.process,
            "msg": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            # the type and where, not the message: a third party's message may hold a value
            doc["exc_type"] = type(exc).__name__
            doc["exc_trace"] = "".join(traceback.format_tb(exc.__traceback__))
        return orjson.dumps(doc).decode()


def configure(command: str, level: str) -> None:
    """Root logging for one `consent` command (`CONSENT_LOG_FORMAT=json|text` overrides)."""
    fmt = os.environ.get("CONSENT_LOG_FORMAT", "json" if command in DAEMONS else "text")
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(os.environ.get("CONSENT_PROCESS_ID", command)))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, root.level))  # aiosmtpd: per connection

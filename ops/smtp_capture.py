"""A real SMTP server (aiosmtpd) that keeps what it receives: the demo's and tests' mailbox."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # tests set this to answer like a real relay sometimes does: return e.g. "451 try later"
    # or "550 no such user" to refuse a message, None to accept it
    responder: Callable[[Message], str | None] | None = None
    refused: list[tuple[Message, str]] = field(default_factory=list)
    # every accepted envelope recipient (RCPT TO): where a mail really went, whatever its
    # headers say; the fuzz harness checks it, since a forged To header proves nothing
    recipients: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content: Any = envelope.original_content or envelope.content
        msg = message_from_bytes(content if isinstance(content, bytes) else content.encode())
        answer = self.responder(msg) if self.responder is not None else None
        with self.lock:
            if answer is not None:
                self.refused.append((msg, answer))
                return answer
            self.messages.append(msg)
            self.recipients.extend(envelope.rcpt_tos)
        return "250 OK queued"

    def snapshot(self) -> list[Message]:
        with self.lock:
            return list(self.messages)

    def delivered_to(self) -> list[str]:
        """Envelope recipients of every accepted mail, in arrival order."""
        with self.lock:
            return list(self.recipients)

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)


class CaptureServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mailbox = Mailbox()
        self._controller = Controller(self.mailbox, hostname=host, port=port or free_port())
        self.host = host
        self.port = self._controller.port

    def __enter__(self) -> "CaptureServer":
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

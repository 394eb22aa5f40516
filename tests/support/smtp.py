"""A real SMTP server on loopback (aiosmtpd), recording and parsing every message it takes.

    def test_x(smtp_server: SmtpSink) -> None:
        settings = {"smtp_url": smtp_server.url}
        ...
        [received] = smtp_server.wait_for(1)
        received.message["Subject"], received.envelope_to, received.message.get_body(("html",))

`stop()` / `start()` take the server away and bring it back on the same port; `answer_next(["451 …"])` makes
the next DATA commands answer those replies instead of taking the message; `reply_delay` holds the 250 back
after the message is recorded (kill the sender meanwhile: the server has it, the sender never heard)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


@dataclass(frozen=True)
class Received:
    envelope_from: str
    envelope_to: list[str]
    raw: bytes
    message: EmailMessage


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.sink._take(envelope)
        if self.sink.reply_delay:  # the message is recorded: a sender killed now has had it taken, unmarked
            await asyncio.sleep(self.sink.reply_delay)
        return reply


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._answers: list[str] = []
        self.reply_delay = 0.0  # seconds between taking a message and answering 250
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def answer_next(self, replies: list[str]) -> None:
        with self._lock:
            self._answers.extend(replies)

    def _take(self, envelope: Any) -> str:
        with self._lock:
            if self._answers:
                return self._answers.pop(0)
            raw = bytes(envelope.original_content or envelope.content)
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first `count` messages received, waiting for them; AssertionError when they do not come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} messages arrived at the SMTP server, not {count}")

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for received in self.received:
            key = str(received.message["Message-ID"])
            counts[key] = counts.get(key, 0) + 1
        return counts

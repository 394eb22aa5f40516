"""How a claimed email leaves: over SMTP (smtplib in a thread), or into the catcher when no server is set."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote, urlsplit


class MailRefused(Exception):
    """The server refused the message for good (5xx): sending it again would be refused again."""


class MailDeferred(Exception):
    """Not sent this time (server away, 4xx, time-out): try again later."""


Envelope = tuple[str, list[str], str]  # (sender, recipients, the MIME text)


class Transport(Protocol):
    caught: bool  # True: messages are kept for the admin's mail page, not sent

    async def send_many(self, messages: list[Envelope]) -> list[Exception | None]: ...


@dataclass(frozen=True)
class SmtpServer:
    """Parsed from ROSE_ASH_SMTP_URL: `smtp://[user:password@]host[:port]` (STARTTLS when the server offers it;
    `?tls=required` refuses to send in clear) or `smtps://…` (TLS from the start, port 465)."""

    host: str
    port: int
    implicit_tls: bool
    require_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or error messages

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("ROSE_ASH_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ValueError("ROSE_ASH_SMTP_URL has a port that is not a number") from None
        query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=parts.scheme == "smtps",
            require_tls=parts.scheme == "smtps" or query.get("tls") == "required",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


@dataclass
class SmtpTransport:
    """One SMTP connection per batch of messages (a new one each cost more than the message on loopback)."""

    server: SmtpServer
    timeout: float = 30.0
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    caught: bool = False

    async def send(self, sender: str, recipients: list[str], raw: str) -> None:
        [outcome] = await self.send_many([(sender, recipients, raw)])
        if outcome is not None:
            raise outcome

    async def send_many(self, messages: list[Envelope]) -> list[Exception | None]:
        """Each message's outcome, in order: None when the server took it, MailRefused or MailDeferred."""
        return await asyncio.to_thread(self._send_many, messages)

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        client: smtplib.SMTP
        if server.implicit_tls:
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=self.tls)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            client.ehlo()
            if not server.implicit_tls:
                if client.has_extn("starttls"):
                    client.starttls(context=self.tls)
                    client.ehlo()
                elif server.require_tls:
                    raise MailDeferred(f"{server} does not offer STARTTLS and tls=required is set")
            if server.username:
                client.login(server.username, server.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _send_many(self, messages: list[Envelope]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        try:
            client = self._connect()
        except MailDeferred as exc:
            return [exc for _ in messages]
        except Exception as exc:
            failure = self._failure(exc)
            return [failure for _ in messages]
        with client:
            for sender, recipients, raw in messages:
                try:
                    refused = client.sendmail(sender, recipients, raw.encode("utf-8"))
                except smtplib.SMTPServerDisconnected as exc:  # the line is gone: the rest wait too
                    outcomes += [self._failure(exc)] * (len(messages) - len(outcomes))
                    break
                except smtplib.SMTPException as exc:  # an answer about this message (SMTPException is an OSError)
                    outcomes.append(self._failure(exc))
                    try:
                        client.rset()  # the next message starts a clean transaction
                    except (OSError, smtplib.SMTPException) as lost:
                        outcomes += [self._failure(lost)] * (len(messages) - len(outcomes))
                        break
                    continue
                except OSError as exc:  # a time-out or a reset connection: the rest wait too
                    outcomes += [self._failure(exc)] * (len(messages) - len(outcomes))
                    break
                if refused:
                    # Some recipients took it: sending again would double it for them. Recorded, not retried.
                    outcomes.append(
                        MailRefused(f"{len(refused)} of {len(recipients)} recipients were refused: {sorted(refused)}")
                    )
                else:
                    outcomes.append(None)
        return outcomes

    def _failure(self, exc: Exception) -> Exception:
        """What an smtplib error means for the message: refused for good, or to try again."""
        server = self.server
        if isinstance(exc, smtplib.SMTPAuthenticationError):  # the settings are wrong, not the message
            return MailDeferred(f"{server} refused the user name and password ({exc.smtp_code})")
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return _verdict(exc.recipients, "every recipient was refused")
        if isinstance(exc, smtplib.SMTPResponseException):
            text = f"{server} answered {exc.smtp_code}: {_text(exc.smtp_error)}"
            return MailRefused(text) if 500 <= exc.smtp_code < 600 else MailDeferred(text)
        # a refused connection, a time-out, a TLS failure, a lost line
        return MailDeferred(f"{server}: {type(exc).__name__}: {exc}")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _verdict(refusals: dict[str, tuple[int, bytes]], summary: str) -> Exception:
    codes = sorted({code for code, _ in refusals.values()})
    detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refusals.items())
    if all(code >= 500 for code in codes):
        return MailRefused(f"{summary}: {detail}")
    return MailDeferred(f"{summary}: {detail}")


@dataclass
class Catcher:
    """No SMTP server configured (`rose-ash up`): a message is kept in the store, readable at /admin/mail."""

    caught: bool = True

    async def send_many(self, messages: list[Envelope]) -> list[Exception | None]:
        return [None for _ in messages]


def transport_for(smtp_url: str | None) -> Transport:
    return SmtpTransport(SmtpServer.from_url(smtp_url)) if smtp_url else Catcher()

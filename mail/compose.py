"""Build an email with the standard library: a text part, an optional HTML alternative, attachments.

Two steps: `draft(...)` checks everything and fixes the Message-ID and Date (cheap: it is what a queued
message stores); `build(draft)` makes the MIME message (the stdlib's header machinery costs about 5 ms a
message here, so the mail worker builds, after the causing transaction committed, not the request)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from mail.qr import MAX_BYTES as QR_MAX_BYTES
from mail.qr import qr_png


class MailError(Exception):
    """An email that cannot be built or queued as given (a bad address, a header with a line break)."""


@dataclass(frozen=True)
class Attachment:
    filename: str  # "event.ics", "ticket-1.png"
    content: bytes
    mime_type: str  # "text/calendar", "image/png"
    inline_id: str | None = None  # a Content-ID the HTML part shows with <img src="cid:…">


@dataclass(frozen=True)
class QrCode:
    """An image/png attachment that is the QR symbol of `text` (a ticket's code), drawn by the worker when it
    builds the message: drawing one costs a few milliseconds, which the causing transaction need not hold."""

    filename: str  # "ticket-1.png"
    text: str
    inline_id: str | None = None
    mime_type: str = "image/png"

    @property
    def content(self) -> bytes:
        return qr_png(self.text)  # segno and Pillow are imported on first use


QR_SIZE_BOUND = 4096  # bytes: a drawn ticket code is about 600


def check_address(value: str) -> str:
    """`value` as one plain email address (`ada@example.org`), or MailError in a sentence."""
    text = value.strip()
    if not text or any(c in text for c in "\r\n<>,;\"() ") or text.count("@") != 1:
        raise MailError(f"{value!r} is not an email address like name@example.org.")
    local, domain = text.split("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or len(text) > 254:
        raise MailError(f"{value!r} is not an email address like name@example.org.")
    try:
        Address(addr_spec=text)
    except (ValueError, IndexError):
        raise MailError(f"{value!r} is not an email address like name@example.org.") from None
    return text


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


@dataclass(frozen=True)
class Draft:
    """A checked email, not yet MIME: what the queue stores (as JSON) until the worker builds it."""

    sender: str  # "Name <addr>" or "addr"
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None
    attachments: tuple[Attachment | QrCode, ...]
    headers: tuple[tuple[str, str], ...]
    message_id: str
    date: str

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def size(self) -> int:
        return len(self.text) + len(self.html or "") + sum(_size_of(a) * 4 // 3 for a in self.attachments)

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "attachments": [_attachment_json(a) for a in self.attachments],
            "headers": [list(h) for h in self.headers],
            "message_id": self.message_id,
            "date": self.date,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            sender=data["sender"],
            to=tuple(data["to"]),
            subject=data["subject"],
            text=data["text"],
            html=data["html"],
            attachments=tuple(_attachment_of(a) for a in data["attachments"]),
            headers=tuple((name, value) for name, value in data["headers"]),
            message_id=data["message_id"],
            date=data["date"],
        )


def _size_of(attachment: Attachment | QrCode) -> int:
    return QR_SIZE_BOUND if isinstance(attachment, QrCode) else len(attachment.content)


def _attachment_json(attachment: Attachment | QrCode) -> dict[str, Any]:
    if isinstance(attachment, QrCode):
        return {"filename": attachment.filename, "qr": attachment.text, "mime_type": attachment.mime_type,
                "inline_id": attachment.inline_id}  # fmt: skip
    content = base64.b64encode(attachment.content).decode()
    return {"filename": attachment.filename, "content": content, "mime_type": attachment.mime_type,
            "inline_id": attachment.inline_id}  # fmt: skip


def _attachment_of(data: dict[str, Any]) -> Attachment | QrCode:
    if "qr" in data:
        return QrCode(data["filename"], data["qr"], data["inline_id"], data["mime_type"])
    return Attachment(data["filename"], base64.b64decode(data["content"]), data["mime_type"], data["inline_id"])


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise MailError("A mail header cannot contain a line break.")
    return value


def draft(
    *,
    sender: str,
    to: str | Iterable[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment | QrCode] = (),
    headers: Mapping[str, str] | None = None,
) -> Draft:
    """Everything checked (MailError, a sentence, otherwise); the Message-ID is made on the sender's domain."""
    recipients = tuple(check_address(r) for r in ([to] if isinstance(to, str) else to))
    if not recipients:
        raise MailError("An email needs at least one recipient.")
    sender_address = check_address(parseaddr(_one_line(sender))[1])
    extra = tuple((_one_line(name), _one_line(value)) for name, value in (headers or {}).items())
    files = tuple(attachments)
    for attachment in files:
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not maintype or not subtype:
            raise MailError(f"{attachment.mime_type!r} is not a MIME type like image/png.")
        _one_line(attachment.filename)
        if isinstance(attachment, QrCode) and len(attachment.text.encode()) > QR_MAX_BYTES:
            raise MailError(f"A QR code holds at most {QR_MAX_BYTES} bytes of text here.")
    return Draft(
        sender=sender,
        to=recipients,
        subject=_one_line(subject),
        text=text,
        html=html,
        attachments=files,
        headers=extra,
        message_id=make_msgid(domain=domain_of(sender_address)),
        date=formatdate(localtime=False),
    )


def build(checked: Draft) -> EmailMessage:
    """The MIME message of a draft: text/plain, with text/html as its alternative, then the attachments."""
    message = EmailMessage()
    message["From"] = checked.sender
    message["To"] = ", ".join(checked.to)
    message["Subject"] = checked.subject
    message["Date"] = checked.date
    message["Message-ID"] = checked.message_id
    for name, value in checked.headers:
        message[name] = value
    message.set_content(checked.text)
    if checked.html is not None:
        message.add_alternative(checked.html, subtype="html")
    for attachment in checked.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        cid = f"<{attachment.inline_id}>" if attachment.inline_id else None
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename, cid=cid
        )
    return message


def compose(
    *,
    sender: str,
    to: str | Iterable[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment | QrCode] = (),
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The MIME message at once (for a message to inspect or change before `enqueue`)."""
    return build(
        draft(sender=sender, to=to, subject=subject, text=text, html=html, attachments=attachments, headers=headers)
    )

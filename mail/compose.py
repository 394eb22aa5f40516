"""Build an email with the standard library: a text part, an optional HTML alternative, attachments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


class MailError(Exception):
    """An email that cannot be built or queued as given (a bad address, a header with a line break)."""


@dataclass(frozen=True)
class Attachment:
    filename: str  # "event.ics", "ticket-1.png"
    content: bytes
    mime_type: str  # "text/calendar", "image/png"
    inline_id: str | None = None  # a Content-ID the HTML part shows with <img src="cid:…">


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


def compose(
    *,
    sender: str,
    to: str | Iterable[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The message; `sender` may be "Name <addr>". A Message-ID and Date are set here (on the sender's domain)."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise MailError("An email needs at least one recipient.")
    for value in (subject, *(headers or {}).values()):
        if "\r" in value or "\n" in value:
            raise MailError("A mail header cannot contain a line break.")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(check_address(r) for r in recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    sender_address = message["From"].addresses[0].addr_spec if message["From"].addresses else ""
    message["Message-ID"] = make_msgid(domain=domain_of(check_address(sender_address)))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not subtype:
            raise MailError(f"{attachment.mime_type!r} is not a MIME type like image/png.")
        cid = f"<{attachment.inline_id}>" if attachment.inline_id else None
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename, cid=cid
        )
    return message

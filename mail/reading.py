"""A stored email taken apart for reading in the browser (the admin's mail page, the built-in catcher)."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_string, policy
from email.message import EmailMessage

import nh3

# The HTML part is shown sanitized: no script, style, form or remote image; links stay links.
SAFE_TAGS = {"a", "p", "br", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "code", "pre",
             "blockquote", "hr", "table", "thead", "tbody", "tr", "th", "td", "span", "div"}


@dataclass(frozen=True)
class Part:
    filename: str
    mime_type: str
    size: int


@dataclass(frozen=True)
class Reading:
    headers: list[tuple[str, str]]
    text: str
    html: str | None  # sanitized
    attachments: list[Part]


def parse(raw: str) -> EmailMessage:
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def read(raw: str) -> Reading:
    message = parse(raw)
    shown = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
    headers = [(name, str(message[name])) for name in shown if message[name] is not None]
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = None
    if html_part is not None:
        html = nh3.clean(html_part.get_content(), tags=SAFE_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"})
    attachments = [
        Part(part.get_filename() or "(unnamed)", part.get_content_type(), len(part.get_payload(decode=True) or b""))
        for part in message.iter_attachments()
    ]
    return Reading(headers, text, html, attachments)

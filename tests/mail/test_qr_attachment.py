"""A `QrCode` attachment is queued as its text and drawn by the worker when it builds the message: the PNG in
the built message decodes (zxing-cpp) back to the text, through the queue's JSON and the worker's build; a text
longer than a QR symbol should hold is refused before anything is written."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from mail import Draft, MailError, QrCode, build, draft, enqueue
from mail.queue import raw_of
from mail.reading import parse
from store import Store
from store.models import MailMessage
from tests.support.app import row_counts

CODE = "tk_7Qm2c9XvLr0aPz3Nw8Ydu5Es"


def ticket_draft(text: str = CODE) -> Draft:
    return draft(
        sender="Rose Ash Shop <shop@example.org>",
        to="ada@example.org",
        subject="Your tickets",
        text=f"Ticket 1: {text}",
        html="<img src='cid:ticket-1'>",
        attachments=[QrCode("ticket-1.png", text, inline_id="ticket-1")],
    )


def pngs_of(raw: str) -> list[bytes]:
    message = parse(raw)
    return [part.get_payload(decode=True) for part in message.walk() if part.get_content_type() == "image/png"]


def test_the_queued_draft_keeps_the_text_and_the_built_message_carries_its_qr_code() -> None:
    stored = ticket_draft().to_json()
    assert stored["attachments"] == [
        {"filename": "ticket-1.png", "qr": CODE, "mime_type": "image/png", "inline_id": "ticket-1"}
    ]
    message = build(Draft.from_json(stored))
    (png,) = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert str(png["Content-ID"]) == "<ticket-1>" and png.get_filename() == "ticket-1.png"
    image = Image.open(io.BytesIO(png.get_payload(decode=True)))  # type: ignore[arg-type]
    assert image.size[0] == image.size[1] >= 200  # big enough to scan off a phone
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [CODE]


async def test_a_queued_qr_code_is_drawn_when_the_row_is_built(store: Store) -> None:
    async with store.write() as session:
        assert await enqueue(session, ticket_draft(), now=1.0, key="order-delivered:1")
    async with store.read() as session:
        row = (await session.scalars(select(MailMessage))).one()
    assert row.raw is None  # stored unbuilt: no drawing in the causing transaction
    raw = raw_of(row)
    assert raw is not None
    (png,) = pngs_of(raw)
    assert [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [CODE]


async def test_a_text_too_long_for_a_qr_code_is_refused_before_anything_is_written(store: Store) -> None:
    before = await row_counts(store)
    with pytest.raises(MailError, match=r"QR code holds at most 1000 bytes"):
        async with store.write() as session:
            await enqueue(session, ticket_draft("x" * 1001), now=1.0)
    assert await row_counts(store) == before

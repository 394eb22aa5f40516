"""The mail queue against a real SMTP server (aiosmtpd on loopback), on both stores: what is queued in a
transaction is sent once it commits and never when it rolls back; a server that is down, or answers 4xx, gets
the message later, once; 5xx gives up; a crash between send and mark resends with the same Message-ID and the
row is marked sent once; two workers never claim one message."""

from __future__ import annotations

import asyncio
import hashlib
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from mail import Attachment, Draft, MailError, MailState, build, compose, draft, enqueue
from mail.transport import Catcher, SmtpServer, SmtpTransport
from mail.worker import MailWorker
from outbox.retry import RetryPolicy
from store import Store
from store.models import MailMessage
from tests.support.app import row_counts
from tests.support.smtp import SmtpSink

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//rose-ash//test//EN\r\nEND:VCALENDAR\r\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def worker(store: Store, sink: SmtpSink, clock: Clock, **options: object) -> MailWorker:
    transport = SmtpTransport(SmtpServer.from_url(sink.url), timeout=5.0)
    return MailWorker(store, transport, RetryPolicy(base_delay=30.0), clock, **options)  # type: ignore[arg-type]


def message(to: str = "ada@example.org", subject: str = "Your tickets") -> EmailMessage:
    return build(checked(to, subject))


def checked(to: str = "ada@example.org", subject: str = "Your tickets") -> Draft:
    return draft(
        sender="Rose Ash Shop <shop@example.org>",
        to=to,
        subject=subject,
        text="Your order is confirmed.",
        html="<p>Your order is <strong>confirmed</strong>.</p><img src=\"cid:ticket\">",
        attachments=[
            Attachment("event.ics", ICS, "text/calendar"),
            Attachment("ticket-1.png", PNG, "image/png", inline_id="ticket"),
        ],
    )


async def queued(store: Store) -> list[MailMessage]:
    async with store.read() as session:
        return list(await session.scalars(select(MailMessage).order_by(MailMessage.id)))


@pytest.mark.parametrize("queued_as", ["draft", "built"])
async def test_a_queued_email_arrives_with_its_parts(store: Store, smtp_server: SmtpSink, queued_as: str) -> None:
    clock = Clock()
    sent = checked() if queued_as == "draft" else message()
    async with store.write() as session:
        assert await enqueue(session, sent, now=clock(), key="order:1")
    [before] = await queued(store)
    assert (before.raw is None) == (queued_as == "draft")
    await worker(store, smtp_server, clock).drain()

    [received] = smtp_server.wait_for(1)
    assert received.envelope_from == "shop@example.org" and received.envelope_to == ["ada@example.org"]
    got = received.message
    message_id = sent.message_id if isinstance(sent, Draft) else sent["Message-ID"]
    assert got["Subject"] == "Your tickets" and got["Message-ID"] == message_id
    assert got.get_body(("plain",)).get_content().strip() == "Your order is confirmed."  # type: ignore[union-attr]
    assert "<strong>confirmed</strong>" in got.get_body(("html",)).get_content()  # type: ignore[union-attr]
    parts = {p.get_filename(): p for p in got.iter_attachments()}
    assert parts["event.ics"].get_content_type() == "text/calendar"
    assert parts["event.ics"].get_payload(decode=True) == ICS
    png = parts["ticket-1.png"]
    assert png.get_content_type() == "image/png" and png["Content-ID"] == "<ticket>"
    assert hashlib.sha256(png.get_payload(decode=True)).digest() == hashlib.sha256(PNG).digest()
    [row] = await queued(store)
    assert (row.state, row.attempts, row.last_error) == (MailState.SENT, 1, None) and row.sent_at == clock()
    # The row keeps the message as sent (line endings aside: aiosmtpd hands the content over with LF).
    assert row.raw is not None and row.raw.replace("\r\n", "\n").encode() == received.raw.replace(b"\r\n", b"\n")


async def test_rolled_back_mail_is_never_sent_and_a_repeated_key_queues_once(
    store: Store, smtp_server: SmtpSink
) -> None:
    clock = Clock()
    with pytest.raises(RuntimeError):
        async with store.write() as session:
            await enqueue(session, message(), now=clock(), key="order:1")
            raise RuntimeError("the change that caused it failed")
    assert await queued(store) == []
    for _ in range(2):  # the cause retried: the second run queues nothing
        async with store.write() as session:
            await enqueue(session, message(), now=clock(), key="order:1")
    await worker(store, smtp_server, clock).drain()
    assert len(smtp_server.wait_for(1)) == 1
    await asyncio.sleep(0.2)
    assert len(smtp_server.received) == 1 and len(await queued(store)) == 1


async def test_bad_mail_is_refused_before_anything_is_written(store: Store) -> None:
    before = await row_counts(store)
    for bad in ("not-an-address", "ada@example.org, eve@example.org", "ada@localhost", "a\r\nBcc: x@y.org"):
        with pytest.raises(MailError, match=r"\.$"):
            async with store.write() as session:
                await enqueue(session, compose(sender="shop@example.org", to=bad, subject="s", text="t"), now=1.0)
    with pytest.raises(MailError, match="line break"):
        compose(sender="shop@example.org", to="ada@example.org", subject="hi\r\nBcc: eve@example.org", text="t")
    assert await row_counts(store) == before


async def test_a_server_that_is_down_gets_the_mail_once_it_is_back(store: Store, smtp_server: SmtpSink) -> None:
    clock = Clock()
    async with store.write() as session:
        await enqueue(session, message(), now=clock())
    smtp_server.stop()
    sender = worker(store, smtp_server, clock)
    await sender.drain()
    [row] = await queued(store)
    assert row.state == MailState.PENDING and row.attempts == 1 and "ConnectionRefusedError" in (row.last_error or "")
    assert row.next_attempt_at == clock() + 30.0  # backoff: not before its time
    await sender.drain()
    assert (await queued(store))[0].attempts == 1

    smtp_server.start()
    clock.now += 31
    await sender.drain()
    assert len(smtp_server.wait_for(1)) == 1
    [row] = await queued(store)
    assert (row.state, row.attempts) == (MailState.SENT, 2)
    clock.now += 3600
    await sender.drain()
    assert len(smtp_server.received) == 1


async def test_a_4xx_answer_is_retried_with_backoff_and_5xx_gives_up(store: Store, smtp_server: SmtpSink) -> None:
    clock = Clock()
    async with store.write() as session:
        await enqueue(session, message(subject="first"), now=clock())
    smtp_server.answer_next(["451 4.3.0 try again later", "452 4.3.1 still busy"])
    sender = worker(store, smtp_server, clock)
    await sender.drain()
    clock.now += 31
    await sender.drain()
    [row] = await queued(store)
    assert row.state == MailState.PENDING and row.attempts == 2 and "452" in (row.last_error or "")
    assert row.next_attempt_at == clock() + 60.0  # doubled
    clock.now += 61
    await sender.drain()
    assert (await queued(store))[0].state == MailState.SENT and len(smtp_server.wait_for(1)) == 1

    async with store.write() as session:
        await enqueue(session, message(subject="second"), now=clock())
    smtp_server.answer_next(["550 5.7.1 refused"])
    await sender.drain()
    row = (await queued(store))[1]
    assert row.state == MailState.FAILED and "550" in (row.last_error or "")
    clock.now += 24 * 3600
    await sender.drain()
    assert len(smtp_server.received) == 1


async def test_a_crash_between_send_and_mark_resends_the_same_message_and_marks_it_once(
    store: Store, smtp_server: SmtpSink
) -> None:
    clock = Clock()
    async with store.write() as session:
        await enqueue(session, message(), now=clock())
    crashed = worker(store, smtp_server, clock, lease=60.0)
    [claimed] = await crashed.claim(10)
    await crashed.transport.send(claimed.sender, claimed.recipients, claimed.raw)  # the server takes it…
    # … and the process dies before marking it. Until its lease lapses, nobody else takes the message:
    survivor = worker(store, smtp_server, clock, lease=60.0)
    assert await survivor.claim(10) == []
    clock.now += 61
    await survivor.drain()
    first, second = smtp_server.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"]  # a duplicate the receiver recognises
    [row] = await queued(store)
    assert (row.state, row.attempts, row.locked_by) == (MailState.SENT, 1, None)
    # Had the crashed worker come back, its late result changes nothing:
    assert await crashed.mark(claimed, None, False) is False
    assert (await queued(store))[0].attempts == 1


async def test_two_workers_never_claim_the_same_message(store: Store, smtp_server: SmtpSink) -> None:
    clock = Clock()
    async with store.write() as session:
        for n in range(40):
            await enqueue(session, message(to=f"buyer{n}@example.org"), now=clock())
    workers = [worker(store, smtp_server, clock, batch=7) for _ in range(2)]

    async def run(w: MailWorker) -> list[int]:
        ids: list[int] = []
        while claimed := await w.claim(7):
            ids += [c.id for c in claimed]
            for c in claimed:
                await w.send(c)
        return ids

    a, b = await asyncio.gather(*(run(w) for w in workers))
    assert not set(a) & set(b) and len(a) + len(b) == 40
    received = smtp_server.wait_for(40)
    assert sorted(r.envelope_to[0] for r in received) == sorted(f"buyer{n}@example.org" for n in range(40))
    await asyncio.sleep(0.2)
    assert len(smtp_server.received) == 40 and set(smtp_server.by_message_id().values()) == {1}
    async with store.read() as session:
        states = dict((await session.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state))).all())
    assert states == {MailState.SENT: 40}


async def test_without_a_server_the_mail_is_caught(store: Store) -> None:
    clock = Clock()
    async with store.write() as session:
        await enqueue(session, message(), now=clock())
    await MailWorker(store, Catcher(), clock=clock).drain()
    [row] = await queued(store)
    assert row.state == MailState.CAUGHT and row.sent_at == clock()


def test_smtp_settings_keep_the_password_out_of_sight() -> None:
    server = SmtpServer.from_url("smtps://mailer%40example.org:s3cr%3At@mail.example.org")
    assert (server.host, server.port, server.implicit_tls, server.username, server.password) == (
        "mail.example.org",
        465,
        True,
        "mailer@example.org",
        "s3cr:t",
    )
    assert "s3cr" not in repr(server) and "s3cr" not in str(server)
    assert SmtpServer.from_url("smtp://mail.example.org:587?tls=required").require_tls
    for bad in ("http://mail.example.org", "smtp://", "smtp://host:port"):
        with pytest.raises(ValueError, match="ROSE_ASH_SMTP_URL"):
            SmtpServer.from_url(bad)


async def test_a_failed_send_is_reported_without_the_password(store: Store) -> None:
    from mail.transport import MailDeferred

    sink = SmtpSink()  # never started: the connection is refused
    transport = SmtpTransport(SmtpServer.from_url(f"smtp://user:hunter22@127.0.0.1:{sink.port}"), timeout=2.0)
    with pytest.raises(MailDeferred) as caught:
        await transport.send("shop@example.org", ["ada@example.org"], "Subject: x\r\n\r\nx\r\n")
    assert "hunter22" not in str(caught.value) and f"127.0.0.1:{sink.port}" in str(caught.value)


async def test_many_keyed_drafts_queue_in_one_go_skipping_keys_queued_before(store: Store, smtp_server: SmtpSink) -> None:
    from mail.queue import enqueue_many

    clock = Clock()
    async with store.write() as session:
        assert await enqueue(session, checked("first@example.org"), now=clock(), key="post:1:first")
    letters = [(checked(f"{name}@example.org"), f"post:1:{name}") for name in ("first", "second", "third")]
    async with store.write() as session:
        assert await enqueue_many(session, letters, now=clock()) == 2
    async with store.write() as session:
        assert await enqueue_many(session, letters, now=clock()) == 0
    await worker(store, smtp_server, clock).drain()
    received = smtp_server.wait_for(3)
    assert sorted(r.envelope_to[0] for r in received) == ["first@example.org", "second@example.org", "third@example.org"]
    await asyncio.sleep(0.2)
    assert len(smtp_server.received) == 3


async def test_one_connection_takes_a_batch_and_a_refusal_mid_batch_holds_up_only_its_message(
    store: Store, smtp_server: SmtpSink
) -> None:
    clock = Clock()
    async with store.write() as session:
        for name in ("first", "second", "third"):
            await enqueue(session, checked(f"{name}@example.org", subject=name), now=clock())
    smtp_server.answer_next(["451 4.3.0 busy for now"])
    sender = worker(store, smtp_server, clock, batch=10)
    assert await sender.step()  # one claim, one connection, three transactions on it
    rows = {row.subject: row for row in await queued(store)}
    assert rows["first"].state == MailState.PENDING and "451" in (rows["first"].last_error or "")
    assert rows["second"].state == rows["third"].state == MailState.SENT
    assert sorted(r.envelope_to[0] for r in smtp_server.wait_for(2)) == ["second@example.org", "third@example.org"]
    clock.now += 31
    await sender.drain()
    assert smtp_server.wait_for(3)[2].envelope_to == ["first@example.org"]
    assert {row.state for row in await queued(store)} == {MailState.SENT}


async def test_sent_mail_is_emptied_after_its_retention_and_its_key_still_holds(store: Store) -> None:
    from mail.retention import prune_mail

    clock = Clock()
    async with store.write() as session:
        await enqueue(session, checked("old@example.org", "old"), now=clock(), key="post:1:old")
        await enqueue(session, checked("waiting@example.org", "waiting"), now=clock())
    sender = MailWorker(store, Catcher(), clock=clock)
    [first, _] = await sender.claim(2)
    await sender.send(first)  # the other is sent late, 10 days on: its retention counts from then
    clock.now += 10 * 24 * 3600
    async with store.write() as session:
        await enqueue(session, checked("recent@example.org", "recent"), now=clock())
    await sender.drain()
    assert await prune_mail(store, clock(), retention=5 * 24 * 3600, batch=1) == 1
    rows = {row.message_id: row for row in await queued(store)}
    emptied = [row for row in rows.values() if row.raw is None and row.draft is None]
    assert len(emptied) == 1 and emptied[0].recipients == [] and emptied[0].subject == "" and emptied[0].key
    assert {row.subject for row in rows.values()} == {"", "waiting", "recent"}
    async with store.write() as session:  # the cause again, after the retention: still queued once
        assert not await enqueue(session, checked("old@example.org", "old"), now=clock(), key="post:1:old")
    assert await prune_mail(store, clock(), retention=5 * 24 * 3600) == 0

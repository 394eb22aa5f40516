"""Mail end to end with real processes: a blog peer (`rose-ash serve`) and `rose-ash worker` processes on
one store (SQLite and PostgreSQL), sending to a real SMTP server (aiosmtpd) on loopback.

- A reader subscribes on the blog, confirms through the link in the email the SMTP server received, gets the
  next post by email and unsubscribes with the RFC 8058 one-click POST; the post after that is not sent.
- With the web process's worker off and the SMTP server down, a `rose-ash worker` keeps retrying; once the
  server is back every message arrives once, and two worker processes sharing the queue never send one twice."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from mail import MailState, compose, enqueue
from store import Store
from store.models import MailMessage
from tests.hostile.helpers import Visitor, c2s
from tests.support.admin import eventually
from tests.support.databases import Peek
from tests.support.processes import PeerProcess
from tests.support.smtp import SmtpSink

LINK = re.compile(r"https?://\S+/newsletter/(?:confirm|unsubscribe)\?token=[\w\-%]+")


def text_of(received: Any) -> str:
    return str(received.message.get_body(("plain",)).get_content())


def publish(http: httpx.Client, blog: PeerProcess, title: str) -> str:
    answer = c2s(http, blog, {"type": "Create", "object": {"type": "Article", "name": title, "content": f"On {title}."}})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["object"])


def test_a_reader_subscribes_confirms_receives_a_post_and_unsubscribes_in_one_click(
    peer_process: Callable[..., PeerProcess], smtp_server: SmtpSink
) -> None:
    blog = peer_process("blog", env={"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_MAIL_FROM": "Blog <blog@example.org>"})
    reader = Visitor(blog, "/")
    http = httpx.Client(trust_env=False, timeout=30.0)
    try:
        asked = reader.post("/newsletter", email="ada@example.org")
        assert asked.status_code == 200 and "Check your inbox" in asked.text
        [confirmation] = smtp_server.wait_for(1)
        assert confirmation.envelope_to == ["ada@example.org"] and confirmation.envelope_from == "blog@example.org"
        [link] = LINK.findall(text_of(confirmation))
        assert link.startswith(blog.url)
        page = reader.get(link.removeprefix(blog.url))
        assert page.status_code == 200 and "Confirm my subscription" in page.text
        token = parse_qs(urlsplit(link).query)["token"][0]
        confirmed = reader.post("/newsletter/confirm", token=token)
        assert confirmed.status_code == 200 and "Subscribed" in confirmed.text

        post = publish(http, blog, "Harvest supper")
        _, letter = smtp_server.wait_for(2)
        assert letter.message["Subject"] == "Harvest supper" and post in text_of(letter)
        assert letter.message["From"] == "Blog <blog@example.org>"
        assert letter.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        leave = str(letter.message["List-Unsubscribe"]).strip("<>")
        assert leave.startswith(f"{blog.url}/newsletter/unsubscribe?token=")

        one_click = http.post(leave, data={"List-Unsubscribe": "One-Click"})  # as a mail client does: no cookie
        assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
        publish(http, blog, "Nobody reads this by email")
        time.sleep(1.5)
        assert len(smtp_server.received) == 2
    finally:
        reader.close()
        http.close()


def _queue(count: int, label: str) -> Callable[[Store], Any]:
    async def work(store: Store) -> None:
        async with store.write() as session:
            for n in range(count):
                message = compose(sender="blog@example.org", to=f"{label}{n}@example.org", subject=f"{label} {n}", text="x")
                await enqueue(session, message, now=time.time())

    return work


def _states(store_peek: Peek) -> dict[str, int]:
    async def work(store: Store) -> dict[str, int]:
        async with store.read() as session:
            rows = await session.execute(select(MailMessage.state, func.count()).group_by(MailMessage.state))
            return {str(state): int(n) for state, n in rows.all()}

    return dict(store_peek(work))


def test_worker_processes_retry_a_server_that_was_down_and_send_each_message_once(
    peer_process: Callable[..., PeerProcess],
    processes: Callable[..., PeerProcess],
    peek: Callable[[str], Peek],
    smtp_server: SmtpSink,
) -> None:
    env = {"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_INPROCESS_WORKER": "0"}
    blog = peer_process("blog", env=env)
    store = peek(blog.database_url)
    smtp_server.stop()
    store(_queue(5, "early"))
    worker = processes("blog", database_url=blog.database_url, command="worker", env=env)

    def retried() -> bool:
        async def work(s: Store) -> list[int]:
            async with s.read() as session:
                return list(await session.scalars(select(MailMessage.attempts)))

        attempts = store(work)
        return len(attempts) == 5 and min(attempts) >= 1

    eventually(retried, timeout=30, what="the worker trying the server that is down")
    assert _states(store) == {MailState.PENDING: 5} and smtp_server.received == []

    smtp_server.start()
    second = processes("blog", database_url=blog.database_url, command="worker", env=env)
    store(_queue(40, "later"))
    eventually(lambda: _states(store) == {MailState.SENT: 45}, timeout=60, what="every message marked sent")
    received = smtp_server.wait_for(45)
    time.sleep(1.0)
    assert len(smtp_server.received) == 45 and set(smtp_server.by_message_id().values()) == {1}
    assert sorted(r.envelope_to[0] for r in received) == sorted(
        [f"early{n}@example.org" for n in range(5)] + [f"later{n}@example.org" for n in range(40)]
    )
    assert worker.running and second.running


def test_a_worker_killed_between_the_server_taking_a_message_and_marking_it(
    peer_process: Callable[..., PeerProcess],
    processes: Callable[..., PeerProcess],
    peek: Callable[[str], Peek],
    smtp_server: SmtpSink,
) -> None:
    """kill -9 while the server holds back its 250: the message is resent after the lease (10 s here) with the
    same Message-ID, a duplicate the receiver can recognise, and the row is marked sent once."""
    env = {"ROSE_ASH_SMTP_URL": smtp_server.url, "ROSE_ASH_INPROCESS_WORKER": "0"}
    blog = peer_process("blog", env=env)
    store = peek(blog.database_url)
    smtp_server.reply_delay = 30.0
    store(_queue(1, "crash"))
    doomed = processes("blog", database_url=blog.database_url, command="worker", env=env)
    smtp_server.wait_for(1)
    doomed.kill()
    smtp_server.reply_delay = 0.0
    assert _states(store) == {MailState.PENDING: 1}

    processes("blog", database_url=blog.database_url, command="worker", env=env)
    eventually(lambda: _states(store) == {MailState.SENT: 1}, timeout=40, what="the message marked sent")
    first, second = smtp_server.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"]

    async def attempts(s: Store) -> list[int]:
        async with s.read() as session:
            return list(await session.scalars(select(MailMessage.attempts)))

    assert store(attempts) == [1]
    time.sleep(1.0)
    assert len(smtp_server.received) == 2

"""The blog's newsletter: readers subscribe by email (double opt-in), each published post is emailed to the
confirmed subscribers through the mail queue, once, and one click unsubscribes (RFC 8058).

Kept in two private collections of the blog's store (never served): the subscribers, one item
`mailto:<address>` each with its state, and an index of tokens by digest, `urn:sha256:<digest>` → address.
A confirmation token is random, stored only as its digest, expires after `CONFIRM_SECONDS` and works once; a
subscriber's unsubscribe token is random too, kept (the newsletter's links carry it) and never expires, as a
one-click unsubscribe in an old email must still work."""

from __future__ import annotations

import hashlib
import html
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import nh3
from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services
from mail import Draft, check_address
from store import collections

CONFIRM_SECONDS = 48 * 3600


class Subscription(StrEnum):
    PENDING = "pending"  # asked, not yet confirmed through the emailed link
    CONFIRMED = "confirmed"


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class Subscriber:
    address: str
    state: Subscription
    unsubscribe_token: str | None


def subscribers_of(services: Services) -> str:
    return services.actor.url("newsletter/subscribers")


def _tokens_of(services: Services) -> str:
    return services.actor.url("newsletter/tokens")


def _item(address: str) -> str:
    return f"mailto:{address}"


def _token_item(token: str) -> str:
    return f"urn:sha256:{hashlib.sha256(token.encode()).hexdigest()}"


def normalized(address: str) -> str:
    """The address as one subscriber: MailError (a sentence) when it is not one. The domain is case-blind."""
    local, _, domain = check_address(address).partition("@")
    return f"{local}@{domain.lower()}"


async def subscriber(session: AsyncSession, services: Services, address: str) -> Subscriber | None:
    row = await collections.get(session, subscribers_of(services), _item(address))
    if row is None or not row.data:
        return None
    return Subscriber(address, Subscription(row.data["state"]), row.data.get("unsubscribe"))


async def _drop_token(session: AsyncSession, services: Services, digest_item: str | None) -> None:
    if digest_item:
        await collections.remove(session, _tokens_of(services), digest_item)


async def ask(session: AsyncSession, services: Services, address: str) -> str | None:
    """A subscription asked for `address` (already normalized): the confirmation token to email, or None when
    the address is confirmed already (the page says the same either way, so it tells nobody who subscribes)."""
    now = services.clock()
    collection, item = subscribers_of(services), _item(address)
    row = await collections.get(session, collection, item)
    if row is not None and row.data and row.data.get("state") == Subscription.CONFIRMED:
        return None
    token = secrets.token_urlsafe(32)
    digest = _token_item(token)
    data: dict[str, Any] = {"state": Subscription.PENDING.value, "confirm": digest, "asked_at": now}
    if row is None:
        await collections.add(session, collection, item, now, data)
    else:
        await _drop_token(session, services, (row.data or {}).get("confirm"))  # one link works: the newest
        await collections.set_data(session, collection, item, data)
    await collections.add(
        session,
        _tokens_of(services),
        digest,
        now,
        {"address": address, "purpose": Purpose.CONFIRM.value, "expires": now + CONFIRM_SECONDS},
    )
    return token


async def _holder(session: AsyncSession, services: Services, token: str, purpose: Purpose) -> str | None:
    if not token or len(token) > 200:
        return None
    row = await collections.get(session, _tokens_of(services), _token_item(token))
    data = row.data if row is not None else None
    if not data or data.get("purpose") != purpose:
        return None
    if purpose is Purpose.CONFIRM and data["expires"] <= services.clock():
        return None
    return str(data["address"])


async def pending_address(session: AsyncSession, services: Services, token: str) -> str | None:
    """The address a confirmation token is for, while it is valid (for the page that asks to confirm)."""
    return await _holder(session, services, token, Purpose.CONFIRM)


async def confirm(session: AsyncSession, services: Services, token: str) -> str | None:
    """Confirm the subscription the token is for; its address, or None for a token that is unknown, used or
    expired (nothing changes then)."""
    address = await _holder(session, services, token, Purpose.CONFIRM)
    if address is None:
        return None
    now = services.clock()
    await collections.remove(session, _tokens_of(services), _token_item(token))
    unsubscribe = secrets.token_urlsafe(32)
    await collections.add(
        session, _tokens_of(services), _token_item(unsubscribe), now,
        {"address": address, "purpose": Purpose.UNSUBSCRIBE.value},
    )  # fmt: skip
    data = {"state": Subscription.CONFIRMED.value, "unsubscribe": unsubscribe, "confirmed_at": now}
    await collections.set_data(session, subscribers_of(services), _item(address), data)
    return address


async def subscribed_address(session: AsyncSession, services: Services, token: str) -> str | None:
    return await _holder(session, services, token, Purpose.UNSUBSCRIBE)


async def unsubscribe(session: AsyncSession, services: Services, token: str) -> str | None:
    """End the subscription the token is for; its address, or None for an unknown token (nothing changes)."""
    address = await _holder(session, services, token, Purpose.UNSUBSCRIBE)
    if address is None:
        return None
    await collections.remove(session, _tokens_of(services), _token_item(token))
    await collections.remove(session, subscribers_of(services), _item(address))
    return address


def confirm_url(services: Services, token: str) -> str:
    return services.actor.url(f"newsletter/confirm?token={quote(token)}")


def unsubscribe_url(services: Services, token: str) -> str:
    return services.actor.url(f"newsletter/unsubscribe?token={quote(token)}")


async def send_confirmation(session: AsyncSession, services: Services, address: str, token: str) -> None:
    link = confirm_url(services, token)
    blog = services.site.kind_name
    await services.mail.send(
        session,
        to=address,
        subject=f"Confirm your subscription to the {blog}",
        text=(
            f"Someone, probably you, asked to receive new posts of {services.actor.base_url}/ by email.\n\n"
            f"Confirm here (the link works for 48 hours):\n{link}\n\n"
            "If it was not you, ignore this email: nothing will be sent."
        ),
        html=(
            f"<p>Someone, probably you, asked to receive new posts of "
            f'<a href="{html.escape(services.actor.base_url)}/">the {html.escape(blog)}</a> by email.</p>'
            f'<p><a href="{html.escape(link)}">Confirm your subscription</a> (the link works for 48 hours).</p>'
            "<p>If it was not you, ignore this email: nothing will be sent.</p>"
        ),
    )


def _mail_key(post: str, address: str) -> str:
    return "newsletter:" + hashlib.sha256(f"{post}\n{address}".encode()).hexdigest()


async def send_post(session: AsyncSession, services: Services, post: dict[str, Any]) -> int:
    """Email a just-published post to every confirmed subscriber, in the publishing transaction. Keyed per
    (post, subscriber): publishing the same post again (a retried publish) queues nothing. How many queued."""
    title = str(post.get("name") or "A new post")
    content = str(post.get("content") or "")  # sanitized when the post was written
    link = str(post.get("url") or post["id"])
    text_body = html.unescape(nh3.clean(content.replace("</p>", "</p>\n\n"), tags=set())).strip()
    letters: list[tuple[Draft, str]] = []
    for row in await collections.all_items(session, subscribers_of(services), newest_first=False):
        data = row.data or {}
        if data.get("state") != Subscription.CONFIRMED or not data.get("unsubscribe"):
            continue
        address = row.item.removeprefix("mailto:")
        leave = unsubscribe_url(services, data["unsubscribe"])
        letter = services.mail.draft(
            to=address,
            subject=title,
            text=f"{title}\n\n{text_body}\n\nRead it on the blog: {link}\n\nUnsubscribe: {leave}\n",
            html=(
                f"<h1>{html.escape(title)}</h1>{content}"
                f'<p><a href="{html.escape(link)}">Read it on the blog</a></p>'
                f'<p><small><a href="{html.escape(leave)}">Unsubscribe</a></small></p>'
            ),
            headers={"List-Unsubscribe": f"<{leave}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        letters.append((letter, _mail_key(str(post["id"]), address)))
    return await services.mail.queue_many(session, letters)

"""The blog's part of a member's account page (their newsletter subscription, with its unsubscribe link; the
posts the audit log says they wrote) and of the erasure of their data when the account is deleted: the
subscription and its links are deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actors import member_data
from actors.blog import newsletter
from actors.context import Services
from actors.kind import KindSetup
from store import collections
from store.models import CollectionItem

WRITTEN = (
    "Posts name the blog as their author, not a member: these are the posts the audit log says you wrote or changed."
)


async def _subscriptions(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> list[CollectionItem]:
    rows = await collections.all_items(session, newsletter.subscribers_of(services))
    return [r for r in rows if member_data.email_digest(r.item.removeprefix("mailto:")) == ref.digest]


async def summary(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> dict[str, Any]:
    subscriptions = []
    for row in await _subscriptions(session, services, ref):
        data = row.data or {}
        token = data.get("unsubscribe")
        subscriptions.append(
            {
                "state": data.get("state"),
                "unsubscribe": newsletter.unsubscribe_url(services, token) if isinstance(token, str) else None,
            }
        )
    posts = await member_data.made_by(session, await member_data.audit_of(session, ref), "Article")
    return {
        "newsletter": subscriptions,
        "subscribe": services.actor.url("newsletter"),
        "posts": posts,
        "postsNote": WRITTEN,
    }


async def erase(session: AsyncSession, services: Services, ref: member_data.MemberRef) -> None:
    for row in await _subscriptions(session, services, ref):
        data = row.data or {}
        token = data.get("unsubscribe")
        if isinstance(token, str) and await newsletter.unsubscribe(session, services, token) is not None:
            continue
        await newsletter._drop_token(session, services, data.get("confirm"))  # a subscription not yet confirmed
        await collections.remove(session, newsletter.subscribers_of(services), row.item)


def register(setup: KindSetup) -> None:
    member_data.register(setup, summary, erase)

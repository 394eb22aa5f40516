"""Subscriptions to fediverse relays, chosen by the admin: a relay re-shares (Announce) our public activities
with every server that follows it, and ours with the others'.

Two styles of subscribing exist: Mastodon's sends the relay's inbox a Follow whose object is Public; LitePub's
(Pleroma, Akkoma) follows the relay's actor. Either way the relay answers Accept or Reject, from its actor, of
the Follow we sent: the answer moves the Follow row's state (peer/follows.py), through the inbox's trust rule
on answers, so a forged Accept from anyone else changes nothing. Once accepted, every public Create, Update
and Delete also goes to the relay (outbox/record.py). What a relay announces to us is not trusted: it names
an object on another server, which we neither fetch nor store (the actor kinds have no Announce listener)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import activity
from activities.errors import ActivityError
from activities.parse import check_url
from activities.vocab import PUBLIC
from actors import audit
from actors.context import Services
from inbox.directory import ActorInfo
from inbox.errors import FetchError
from peer.follows import outgoing_follow
from store import collections
from store.follow_states import FOLLOW, FollowState
from store.models import Follow, RelaySubscription


class RelayStyle(StrEnum):
    MASTODON = "mastodon"  # Follow{object: Public} to the relay's inbox
    LITEPUB = "litepub"  # Follow{object: the relay's actor}


class RelayRefused(ValueError):
    """The admin's relay URL or style cannot be subscribed to; the reason is a sentence."""


def follow_object(style: RelayStyle, relay_actor: str) -> str:
    return PUBLIC if style is RelayStyle.MASTODON else relay_actor


def checked_relay_url(value: str) -> str:
    """A relay is reached over https only (relays require it of their followers too)."""
    value = value.strip()
    try:
        check_url(value, "the relay URL")
    except ActivityError:
        raise RelayRefused("The relay URL must be an https URL, such as https://relay.example/actor.") from None
    if urlsplit(value).scheme != "https":
        raise RelayRefused(f"The relay URL must start with https:// ({value} does not).")
    return value


def checked_style(value: str) -> RelayStyle:
    try:
        return RelayStyle(value.strip().lower())
    except ValueError:
        raise RelayRefused("Choose the relay's style: mastodon or litepub.") from None


async def relay_actor(services: Services, url: str) -> ActorInfo:
    """The relay's actor from its actor URL or its inbox URL (a relay serves its actor at both, or at the
    inbox's sibling /actor). Fetched through the guarded transport, so private addresses are refused."""
    candidates = [url]
    if urlsplit(url).path.rstrip("/").endswith("/inbox"):
        candidates.append(url.rstrip("/").removesuffix("/inbox") + "/actor")
    error: FetchError | None = None
    for candidate in candidates:
        try:
            doc = await services.fetcher.get_json(candidate)
            actor_id = check_url(doc.get("id"), "the relay's actor id")
            if urlsplit(actor_id).scheme != "https" or urlsplit(actor_id).netloc != urlsplit(url).netloc:
                raise RelayRefused(f"The relay at {url} names an actor on another server ({actor_id}).")
            return await services.directory.actor(actor_id, refresh=True)
        except FetchError as exc:
            error = exc
        except ActivityError as exc:
            raise RelayRefused(f"The relay at {url} does not serve an actor: {exc}.") from None
    assert error is not None
    raise RelayRefused(f"The relay at {url} could not be reached: {error.reason}.")


async def subscribe(services: Services, url: str, style_name: str, by: Mapping[str, Any] | None = None) -> str:
    """Send the relay a Follow in the chosen style; returns the Follow's id. `by`: the admin's session, for the
    audit log."""
    style = checked_style(style_name)
    relay = await relay_actor(services, checked_relay_url(url))
    async with services.store.read() as session:
        if await _live_subscription(session, relay.id) is not None:
            raise RelayRefused(f"This peer is already subscribed to the relay {relay.id}.")
    follow_id = services.actor.new_activity_id()
    now = services.clock()
    async with services.store.write() as session:
        session.add(outgoing_follow(services, follow_id, relay.id, now))
        session.add(
            RelaySubscription(
                follow_id=follow_id,
                actor=relay.id,
                inbox=relay.shared_inbox or relay.inbox,
                style=style.value,
                created_at=now,
            )
        )
        doc = activity("Follow", follow_id, services.actor.id, follow_object(style, relay.id), to=[relay.id])
        await services.emit(session, doc)
        if by is not None:
            await audit.record(session, by, "relay subscribed", relay.id, now, style.value)
    return follow_id


async def unsubscribe(services: Services, follow_id: str, by: Mapping[str, Any] | None = None) -> bool:
    """Undo{Follow} to the relay; False when no live subscription has that id. `by`: as for `subscribe`."""
    now = services.clock()
    async with services.store.write() as session:
        sub = await session.get(RelaySubscription, follow_id)
        row = await session.get(Follow, follow_id)
        if sub is None or row is None or not FOLLOW.can_move(row.state, FollowState.UNDONE):
            return False
        row.state, row.updated_at = FOLLOW.move(row.state, FollowState.UNDONE), now
        style = RelayStyle(sub.style)
        follow_doc = {
            "id": row.id,
            "type": "Follow",
            "actor": services.actor.id,
            "object": follow_object(style, sub.actor),
        }
        undo = activity("Undo", services.actor.new_activity_id(), services.actor.id, follow_doc, to=[sub.actor])
        await services.emit(session, undo)
        await _drop_follow_back(session, services, sub.actor, now)
        if by is not None:
            await audit.record(session, by, "relay unsubscribed", sub.actor, now)
    return True


async def _drop_follow_back(session: AsyncSession, services: Services, relay: str, now: float) -> None:
    """A LitePub relay follows its subscribers back; that follow belongs to the subscription and ends with it
    (the relay's own Undo names our Undo, not its Follow, so it would never end otherwise)."""
    rows = await session.scalars(
        select(Follow).where(
            Follow.remote_actor == relay, Follow.direction == "in", Follow.state == FollowState.ACCEPTED
        )
    )
    for row in rows:
        row.state, row.updated_at = FOLLOW.move(row.state, FollowState.UNDONE), now
    await collections.remove(session, services.actor.followers, relay)


async def _live_subscription(session: AsyncSession, relay: str) -> Follow | None:
    return await session.scalar(
        select(Follow)
        .join(RelaySubscription, RelaySubscription.follow_id == Follow.id)
        .where(RelaySubscription.actor == relay, Follow.state.in_([FollowState.PENDING, FollowState.ACCEPTED]))
    )


async def subscriptions(session: AsyncSession) -> list[tuple[RelaySubscription, str]]:
    """Every subscription with its state, newest first."""
    rows = await session.execute(
        select(RelaySubscription, Follow.state)
        .join(Follow, Follow.id == RelaySubscription.follow_id)
        .order_by(RelaySubscription.created_at.desc())
    )
    return [(sub, str(state)) for sub, state in rows.all()]

"""The account page: a signed-in member's tickets and orders (from the shop and the events peer, each with its
ticket or order page), the events they hold tickets for that are still to come, their posts and events when they
hold those roles, and their newsletter subscription. Only a verified address is asked about: buyers buy without
an account, and their orders appear here once the member proves the address is theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from activities import ical
from actors import roles
from actors.account import members
from actors.account.summaries import Summaries, gather
from actors.context import Services
from actors.web import render, services_of, session, sign_out
from store.models import Member

PAGE = "/account"
UNVERIFIED = "Verify your email address to see your tickets and orders: we sent you a link when you signed up."
LIVE_PURCHASES = frozenset({"confirmed", "held"})


def when(start: object, zone: object) -> str:
    if not isinstance(start, str):
        return ""
    try:
        local = ical.local_time(start, str(zone or "UTC"))
    except (ValueError, KeyError):
        return start
    return f"{local:%a} {local.day} {local:%B %Y, %H:%M}"


def starts_at(start: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(start))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def on_peer(services: Services, kind: str, link: object) -> str | None:
    """A link a peer gave, only when it is a page of that peer (never a script URL or another site)."""
    base = services.peers.get(kind)
    return link if base and isinstance(link, str) and link.startswith(base + "/") else None


def _items(summary: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = summary.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def made(services: Services, kind: str, summary: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Posts or events a peer lists as the member's, each only when its id is a page of that peer."""
    return [{**i, "id": link} for i in _items(summary, key) if (link := on_peer(services, kind, i.get("id")))]


def view(services: Services, found: Summaries, held: frozenset[str]) -> dict[str, Any]:
    events, shop, blog = found.of("events"), found.of("shop"), found.of("blog")
    purchases = [
        {**p, "when": when(p.get("startTime"), p.get("timezone")), "link": on_peer(services, "events", p.get("link"))}
        for p in _items(events, "purchases")
    ]
    orders = [
        {**o, "when": when(o.get("startTime"), o.get("timezone")), "link": on_peer(services, "shop", o.get("link"))}
        for o in _items(shop, "orders")
    ]
    now = datetime.fromtimestamp(services.clock(), UTC)
    upcoming = [
        p
        for p in purchases
        if p.get("state") in LIVE_PURCHASES and not p.get("cancelled") and (starts_at(p.get("startTime")) or now) > now
    ]
    upcoming.sort(key=lambda p: starts_at(p.get("startTime")) or now)
    subscriptions = [
        {**s, "unsubscribe": on_peer(services, "blog", s.get("unsubscribe"))} for s in _items(blog, "newsletter")
    ]
    return {
        "unreachable": found.unreachable,
        "upcoming": upcoming,
        "purchases": purchases,
        "orders": orders,
        "waitlist": [{**w, "link": on_peer(services, "events", w.get("link"))} for w in _items(events, "waitlist")],
        "posts": made(services, "blog", blog, "posts") if roles.EDITOR in held else None,
        "posts_note": str(blog.get("postsNote", "")),
        "organised": made(services, "events", events, "organised") if roles.ORGANISER in held else None,
        "organised_note": str(events.get("organisedNote", "")),
        "subscriptions": subscriptions,
        "subscribe": on_peer(services, "blog", blog.get("subscribe")),
        "asked": {kind: kind in found.found for kind in ("blog", "events", "shop")},
    }


async def signed_in_member(request: Request, services: Services) -> Member | None:
    """The member the account session is for; a session whose member is gone is ended."""
    member_id = session(request, services).get("member")
    if not isinstance(member_id, str):
        return None
    async with services.store.read() as db:
        member = await db.get(Member, member_id)
    if member is None:
        await sign_out(request, services)
    return member


async def account_page(request: Request) -> Response:
    services = services_of(request)
    member = await signed_in_member(request, services)
    if member is None:
        return RedirectResponse(f"/signin?next={PAGE}", status_code=303)
    async with services.store.read() as db:
        held = roles.roles_of({"roles": await members.roles_of(db, member.id)})
    context: dict[str, Any] = {"name": member.name, "email": member.email, "verified": False}
    if member.email_verified_at is None:
        context["unverified"] = UNVERIFIED
    else:
        found = await gather(services, member.id, member.email)
        context |= {"verified": True, **view(services, found, held)}
    return render(request, services, "account/dashboard.html", context, private=True)


ROUTES = [Route(PAGE, account_page)]

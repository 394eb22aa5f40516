"""The door's JSON takes a box-office member's personal access token with door:checkin, checked at the account
service by introspection: real account, blog and events processes, each on its own store. A member's check-in is
marked "member" (the admin token's "device") and audited naming the member. A blog token, a token without the
scope, a revoked or made-up one, a member who lost the role and the account service gone change nothing."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from actors.events.checkin import code_key
from store import objects
from store.models import CheckIn, TicketCode
from tests.support.admin import eventually
from tests.support.databases import Databases, Peek
from tests.support.member_tokens import AS2, EVENT, Member, refused, start_site
from tests.support.processes import PeerProcess


def tickets_for(events_peek: Peek, event: str, count: int) -> list[str]:
    """A confirmed free purchase of `count` tickets for `event`, as the shop's Accept leaves it: their codes."""
    codes = [secrets.token_urlsafe(16) for _ in range(count)]
    purchase = f"{event}/purchases/{secrets.token_hex(8)}"

    async def work(store: Any) -> None:
        now = time.time()
        async with store.write() as db:
            data = {"id": purchase, "type": "Purchase", "state": "confirmed", "customer": {"name": "Ada"}}
            await objects.put(db, data, actor=event.rsplit("/events/", 1)[0] + "/actor", public=False, now=now)
            for n, code in enumerate(codes, 1):
                values = {"ticket": f"{purchase}/tickets/{n}", "event": event, "purchase": purchase}
                db.add(TicketCode(code=code_key(code), number=f"42-{n}", created_at=now, **values))

    events_peek(work)
    return codes


def door(events: str, event: str, token: str, code: str) -> httpx.Response:
    return httpx.post(
        f"{events}/events/{event.rsplit('/', 1)[-1]}/checkin",
        json={"code": code},
        headers={"accept": "application/json", "authorization": f"Bearer {token}"},
        trust_env=False,
        timeout=10.0,
    )


def test_a_box_office_members_token_checks_tickets_in_and_nothing_else_does(
    processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]
) -> None:
    site = start_site(processes, databases, peek)
    events, account = site.url("events"), site.url("account")
    bea_id = site.add_member("bea@example.org", {"box_office", "editor", "organiser"})
    bea = Member(account, "bea@example.org")
    admin = site.procs["events"].admin_token
    scheduled = httpx.post(
        f"{events}/actor/outbox",
        content=json.dumps({"type": "Create", "object": EVENT}),
        headers={"content-type": AS2, "authorization": f"Bearer {admin}"},
        trust_env=False,
        timeout=10.0,
    )
    assert scheduled.status_code == 201, scheduled.text
    event = scheduled.json()["object"]
    first, second, third = tickets_for(site.peeks["events"], event, 3)

    async def checkins(store: Any) -> dict[str, str]:
        async with store.read() as db:
            return {c.ticket.rsplit("/", 1)[-1]: c.by for c in await db.scalars(select(CheckIn))}

    door_token = bea.token("events", ["door:checkin"], name="Door phone")
    admitted = door(events, event, door_token, first)
    assert admitted.status_code == 200 and admitted.json()["verdict"] == "admitted", admitted.text
    assert admitted.json()["checkedIn"] == 1
    by_admin = door(events, event, admin, second)
    assert by_admin.json()["verdict"] == "admitted", by_admin.text
    assert site.peeks["events"](checkins) == {"1": "member", "2": "device"}
    logged = [e for e in site.audit("events") if e[1] == "door check-in"]
    assert logged == [("bea@example.org", "door check-in", admitted.json()["ticket"])]

    blog_token = bea.token("blog", ["blog:write"], name="Blog phone")
    write_token = bea.token("events", ["events:write"], name="Events laptop")
    with site.unchanged():
        again = door(events, event, door_token, first)
        assert again.json()["verdict"] == "used", again.text
        refused(door(events, event, blog_token, third), 403, "made for blog, not for events")
        refused(door(events, event, write_token, third), 403, "scope door:checkin")
        refused(door(events, event, f"ra.events.{secrets.token_urlsafe(32)}", third), 401, "not valid")
        refused(door(events, event, "garbage", third), 401, "bearer token is required")

    # the member loses box_office: the token stops once the peer's short cache lapses (an empty code would be
    # "not a ticket code", 400, were the token still honoured)
    site.set_roles(bea_id, {"editor"})
    eventually(lambda: door(events, event, door_token, "").status_code == 403, timeout=20, what="the role to lapse")
    with site.unchanged():
        refused(door(events, event, door_token, third), 403, "does not hold the role Box office")

    site.set_roles(bea_id, {"box_office"})
    eventually(lambda: door(events, event, door_token, "").status_code == 400, timeout=20, what="the role back")
    bea.revoke("Door phone")
    eventually(lambda: door(events, event, door_token, "").status_code == 401, timeout=20, what="the revocation")
    with site.unchanged():
        refused(door(events, event, door_token, third), 401, "revoked")

    spare = bea.token("events", ["door:checkin"], name="Spare phone")
    site.procs["account"].stop()
    with site.unchanged():
        refused(door(events, event, spare, third), 503, "could not be reached")
    assert door(events, event, admin, third).json()["verdict"] == "admitted"
    assert bea_id not in {e[0] for e in site.audit("events")}

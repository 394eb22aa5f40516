"""The audit log: each staff change writes who did what to which subject, in the change's own transaction (a
refused change writes nothing), and /admin/audit shows it to admins only, newest first, a page at a time.
In-process peers on both stores, members' sessions opened as the sign-in flow opens them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from activities.order import parse_order
from actors import audit, roles
from actors.shop.orders import place_order
from store.models import AuditEntry
from tests.peer.test_roles import EVENT_FORM, assert_refused
from tests.support.app import BASE, App, row_counts, running_app
from tests.support.members import sign_in_admin_token, sign_in_member

SELLER = "http://events.test/actor"


async def entries(app: App) -> list[tuple[str, str, str, str]]:
    """(who, action, subject, detail), oldest first."""
    async with app.store.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.who, r.action, r.subject, r.detail) for r in rows]


async def test_posts_published_updated_and_deleted_are_in_the_log(database_url: str) -> None:
    async with running_app(database_url, "blog") as app:
        csrf = await sign_in_member(app, [roles.EDITOR])
        form = {"csrf": csrf, "title": "Hello", "body": "Hi"}
        assert (await app.client.post("/posts", data={**form, "action": "draft"})).status_code == 303
        assert await entries(app) == []  # a draft is nobody's news yet
        published = await app.client.post("/posts/hello/edit", data={**form, "action": "publish"})
        assert published.status_code == 303, published.text[:300]
        edited = await app.client.post("/posts/hello/edit", data={**form, "body": "Hi again", "action": "update"})
        assert edited.status_code == 303, edited.text[:300]
        assert (await app.client.post("/posts/hello/delete", data={"csrf": csrf})).status_code == 303
        post = f"{BASE}/posts/hello"
        assert await entries(app) == [
            ("ed@example.org", "post published", post, "Hello"),
            ("ed@example.org", "post updated", post, "Hello"),
            ("ed@example.org", "post deleted", post, ""),
        ]
        assert_refused(await app.client.get("/admin/audit"), roles.ADMIN)
        await sign_in_admin_token(app)
        page = await app.client.get("/admin/audit")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert page.text.index("post deleted") < page.text.index("post updated") < page.text.index("post published")
        assert "ed@example.org" in page.text and f'<a href="{post}">' in page.text


async def test_an_event_scheduled_and_cancelled_is_in_the_log(database_url: str) -> None:
    async with running_app(database_url, "events", peers={"shop": "http://shop.test"}) as app:
        csrf = await sign_in_member(app, [roles.ORGANISER], "org@example.org")
        assert (await app.client.post("/calendars/new", data={"csrf": csrf, "name": "Main"})).status_code == 303
        scheduled = await app.client.post("/calendars/schedule", data={"csrf": csrf, **EVENT_FORM})
        slug = scheduled.headers["location"].removeprefix("/calendars#")
        assert (await app.client.post(f"/events/{slug}/cancel", data={"csrf": csrf})).status_code == 303
        event = f"{BASE}/events/{slug}"
        assert await entries(app) == [
            ("org@example.org", "calendar created", f"{BASE}/calendars/main", ""),
            ("org@example.org", "event scheduled", event, "Concert"),
            ("org@example.org", "event cancelled", event, "Concert"),
        ]


async def placed(app: App, quantity: int) -> str:
    """A priced order from the events peer, due for payment (as the shop's Offer listener places it); its number."""
    event = {
        "id": "http://events.test/events/gig",
        "type": "Event",
        "name": "Gig",
        "attributedTo": SELLER,
        "maximumAttendeeCapacity": 10,
        "price": "12.00",
        "priceCurrency": "GBP",
    }
    order = {
        "type": "Order",
        "orderedItem": event["id"],
        "quantity": quantity,
        "customer": {"type": "Person", "name": "Ada", "email": "ada@example.org"},
    }
    async with app.store.write() as session:
        answer: dict[str, Any] = await place_order(
            session,
            app.services,
            offer_id=f"http://events.test/activities/{quantity}",
            seller=SELLER,
            request=parse_order(order),
            event=event,
        )
    assert answer["type"] == "Accept", answer
    return str(answer["result"]["orderNumber"])


async def test_orders_marked_paid_and_refunded_are_in_the_log_and_a_refused_move_is_not(database_url: str) -> None:
    async with running_app(database_url, "shop", trusted=frozenset({SELLER})) as app:
        number = await placed(app, 3)
        csrf = await sign_in_member(app, [roles.SHOP_STAFF], "till@example.org")
        before = await row_counts(app.store)
        refused = await app.client.post(f"/orders/{number}/refund", data={"csrf": csrf})
        assert refused.status_code == 409 and "Only a paid order can be refunded." in refused.text
        assert await row_counts(app.store) == before  # nothing moved, nothing logged
        assert (await app.client.post(f"/orders/{number}/paid", data={"csrf": csrf})).status_code == 303
        some = await app.client.post(f"/orders/{number}/refund-tickets", data={"csrf": csrf, "ticket": f"{number}-1"})
        assert some.status_code == 303, some.text[:300]
        assert (await app.client.post(f"/orders/{number}/refund", data={"csrf": csrf})).status_code == 303
        order = f"{BASE}/orders/{number}"
        assert await entries(app) == [
            ("till@example.org", "order marked paid", order, ""),
            ("till@example.org", "tickets refunded", order, f"{number}-1: 12.00"),
            ("till@example.org", "order refunded", order, "24.00 GBP"),
        ]


async def test_the_audit_page_is_paged_newest_first(database_url: str) -> None:
    async with running_app(database_url, "shop") as app:
        async with app.store.write() as session:
            for n in range(1, 131):
                await audit.record(session, {"admin": True}, "test entry", f"subject-{n:03}", 1_800_000_000.0 + n)
        await sign_in_admin_token(app)
        first = (await app.client.get("/admin/audit")).text
        assert "subject-130" in first and "subject-031" in first and "subject-030" not in first
        assert first.index("subject-130") < first.index("subject-031")
        older = first.split('href="/admin/audit?before=', 1)[1].split('"', 1)[0]
        second = (await app.client.get(f"/admin/audit?before={older}")).text
        assert "subject-030" in second and "subject-001" in second and "subject-031" not in second
        assert "?before=" not in second
        for nonsense in ("-1", "x", "99999999999999999999999", ""):
            again = await app.client.get(f"/admin/audit?before={nonsense}")
            assert again.status_code == 200 and "subject-130" in again.text, nonsense

"""Door check-in: /events/{slug}/checkin, a phone-sized page for staff (and the same address in JSON for scanner
devices with the admin's bearer token). A code is looked up by its digest's key in `ticket_codes` (written when the
shop's Accept lists the order's tickets); a ticket is admitted by inserting its `checkins` row, an INSERT that
does nothing when the row exists, so two scanners at once admit a ticket once and the second hears "already used".
Only the tickets of a confirmed (paid, or free) purchase are admitted: held, cancelled and refunded ones are not."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors import audit
from actors.context import Services
from actors.events.purchase_states import PurchaseState
from actors.events.schedule import sold_of
from actors.roles import BOX_OFFICE, requires
from actors.scopes import DOOR_CHECKIN
from actors.web import (
    PAGE_POLICY,
    checked_form,
    holds,
    render,
    services_of,
)
from peer.bearer import holder_of
from store import collections, objects
from store.models import CheckIn, StoredObject, TicketCode
from store.upsert import insert_ignore

# A ticketToken is URL-safe base64 of 16 to 64 characters (activities.ticket.parse_tickets).
CODE = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_JSON_BODY = 16_384
# The camera scanner decodes in a worker it makes from a blob: URL (qr-scanner's own design).
CAMERA_POLICY = f"{PAGE_POLICY}; worker-src 'self' blob:"


class Verdict(StrEnum):
    ADMITTED = "admitted"
    USED = "used"
    OTHER_EVENT = "other-event"
    REFUSED = "refused"  # the purchase is held (not paid), cancelled, refunded or still pending
    UNKNOWN = "unknown"
    INVALID = "invalid"  # not a code at all: nothing was looked up


HEADLINES = {
    Verdict.ADMITTED: "Valid — admitted",
    Verdict.USED: "Already used",
    Verdict.OTHER_EVENT: "Other event",
    Verdict.UNKNOWN: "Unknown code",
    Verdict.INVALID: "Not a ticket code",
}
REFUSALS = {
    PurchaseState.HELD: "Not paid",
    PurchaseState.PENDING: "Not paid",
    PurchaseState.CANCELLED: "Cancelled",
    PurchaseState.REFUNDED: "Refunded",
    PurchaseState.REJECTED: "Cancelled",
}


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    headline: str
    detail: str
    ticket: str | None = None
    number: str | None = None
    name: str | None = None
    at: float | None = None  # when the ticket was first checked in
    other_event: str | None = None

    def said(self, verdict: Verdict, headline: str, detail: str, **more: Any) -> Answer:
        """This answer's ticket with another verdict."""
        return replace(self, verdict=verdict, headline=headline, detail=detail, **more)

    def json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "admitted": self.verdict is Verdict.ADMITTED,
            "message": self.headline,
            "detail": self.detail,
            "ticket": self.ticket,
            "ticketNumber": self.number,
            "name": self.name,
            "checkedInAt": datetime.fromtimestamp(self.at, UTC).isoformat() if self.at is not None else None,
            "otherEvent": self.other_event,
        }


def code_key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def index_tickets(session: AsyncSession, purchase: dict[str, Any], now: float) -> None:
    """Make the purchase's tickets findable by their codes (in the transaction that records them)."""
    for n, ticket in enumerate(purchase.get("tickets", []), 1):
        values = {
            "code": code_key(str(ticket["code"])),
            "ticket": str(ticket["id"]),
            "event": purchase["event"],
            "purchase": purchase["id"],
            "number": f"{purchase.get('orderNumber', '')}-{n}"[:64],
            "created_at": now,
        }
        await insert_ignore(session, TicketCode, values, ("code",))


async def checked_in_count(session: AsyncSession, event: str) -> int:
    return await session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.event == event)) or 0


async def door_counts(services: Services, event: str) -> tuple[int, int]:
    """(checked in, sold) for the event."""
    async with services.store.read() as session:
        return await checked_in_count(session, event), await collections.count(session, sold_of(event))


def local_time(at: float, tz: str) -> str:
    try:
        zone: Any = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return datetime.fromtimestamp(at, zone).strftime("%H:%M:%S on %d %b %Y (%Z)")


def _refused(known: Answer, number: str, state: PurchaseState) -> Answer:
    return known.said(
        Verdict.REFUSED, REFUSALS.get(state, "Cancelled"), f"Ticket {number}'s order is {state.value}: do not admit."
    )


def _invalid(detail: str) -> Answer:
    return Answer(Verdict.INVALID, HEADLINES[Verdict.INVALID], detail)


async def check_in(
    services: Services, event: StoredObject, raw: object, by: str, member: Mapping[str, Any] | None = None
) -> Answer:
    """Admit the ticket whose code is `raw` to `event`, once; every other answer changes nothing. A ticket a
    member's token admits is audited in the same transaction, naming the member (`by` says only "member")."""
    if not isinstance(raw, str) or not raw.strip():
        return _invalid("Type or scan a ticket code.")
    code = raw.strip()
    if len(code) > 64:
        return _invalid(f"That is {len(code)} characters long; a ticket code has 16 to 64.")
    if not CODE.fullmatch(code):
        return _invalid("A ticket code has 16 to 64 letters, digits, '-' or '_'; check what was typed or scanned.")
    tz = str(event.data.get("timezone") or "UTC")
    async with services.store.read() as session:
        found = await session.get(TicketCode, code_key(code))
        if found is None:
            return Answer(Verdict.UNKNOWN, HEADLINES[Verdict.UNKNOWN], "No ticket of this calendar has that code.")
        purchase = await objects.get(session, found.purchase)
        name = str(purchase.data.get("customer", {}).get("name", "")) if purchase is not None else ""
        known = Answer(Verdict.UNKNOWN, "", "", ticket=found.ticket, number=found.number, name=name)
        if found.event != event.id:
            other = await objects.get(session, found.event)
            other_name = str(other.data.get("name", "")) if other is not None and other.type == "Event" else ""
            detail = f"This ticket is for {other_name or 'another event'}, not {event.data.get('name', 'this one')}."
            return known.said(Verdict.OTHER_EVENT, HEADLINES[Verdict.OTHER_EVENT], detail, other_event=found.event)
        state = PurchaseState(purchase.data["state"]) if purchase is not None else PurchaseState.CANCELLED
        if purchase is not None and _refunded_apart(purchase.data, found.ticket):
            state = PurchaseState.REFUNDED
    if state is not PurchaseState.CONFIRMED:
        return _refused(known, found.number, state)
    async with services.store.write() as session:
        # The purchase's row is held to the commit, as the shop's Updates hold it: a refund that commits first
        # is seen here, one that comes after finds the ticket checked in.
        data = await session.scalar(
            select(StoredObject.data).where(StoredObject.id == found.purchase).with_for_update()
        )
        state = PurchaseState(data["state"]) if data is not None else PurchaseState.CANCELLED
        if data is not None and _refunded_apart(data, found.ticket):
            state = PurchaseState.REFUNDED
        if state is not PurchaseState.CONFIRMED:
            return _refused(known, found.number, state)
        now = services.clock()
        values = {"ticket": found.ticket, "event": event.id, "checked_in_at": now, "by": by}
        if await insert_ignore(session, CheckIn, values, ("ticket",)):
            if member is not None:
                await audit.record(session, member, "door check-in", found.ticket, now, f"ticket {found.number}")
            return known.said(Verdict.ADMITTED, HEADLINES[Verdict.ADMITTED], f"Ticket {found.number} · {name}", at=now)
        first = await session.get(CheckIn, found.ticket)
    at = first.checked_in_at if first is not None else None
    when = local_time(at, tz) if at is not None else "before"
    detail = f"Ticket {found.number} was first checked in at {when}."
    return known.said(Verdict.USED, HEADLINES[Verdict.USED], detail, at=at)


def _refunded_apart(purchase: dict[str, Any], ticket: str) -> bool:
    """One of a paid purchase's tickets refunded on its own (the rest still valid)."""
    return any(isinstance(t, dict) and t.get("id") == ticket for t in purchase.get("refundedTickets", []))


async def _door_event(services: Services, slug: str) -> StoredObject:
    async with services.store.read() as session:
        row = await objects.get(session, services.actor.url(f"events/{slug}"))
    if row is None or row.type not in ("Event", "Tombstone"):
        raise HTTPException(404, "There is no such event.")
    return row


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _page(request: Request, services: Services, event: StoredObject, answer: Answer | None) -> Response:
    checked, sold = await door_counts(services, event.id)
    context = {
        "event": event.data,
        "slug": request.path_params["slug"],
        "answer": answer,
        "checked_in": checked,
        "sold": sold,
    }
    status = 400 if answer is not None and answer.verdict is Verdict.INVALID else 200
    page = render(request, services, "events/checkin.html", context, status, private=True)
    page.headers["Content-Security-Policy"] = CAMERA_POLICY
    return page


@requires(BOX_OFFICE)
async def checkin_page(request: Request) -> Response:
    services = services_of(request)
    event = await _door_event(services, request.path_params["slug"])
    return await _page(request, services, event, None)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status, headers={"Cache-Control": "no-store"})


async def _device_code(request: Request) -> object:
    """The code a device posted: a JSON body `{"code": …}`, or a form field `code`."""
    body = await request.body()
    if len(body) > MAX_JSON_BODY:
        raise HTTPException(413, "The request is too long for a ticket code.")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        return doc.get("code") if isinstance(doc, dict) else None
    form = await request.form(max_files=0, max_fields=10)
    return form.get("code")


async def checkin_post(request: Request) -> Response:
    """Staff's form (signed in, CSRF-checked) answers with the page; a device with a bearer token (the admin's, or
    a member's with door:checkin, checked at the account service) gets JSON. Anyone else is sent to log in."""
    services = services_of(request)
    if "authorization" in request.headers and not holds(request, services, BOX_OFFICE):
        holder = await holder_of(request, services, DOOR_CHECKIN, doing="checking tickets in at the door")
        if isinstance(holder, Response):
            return holder
        event = await _door_event(services, request.path_params["slug"])
        member = None if holder.get("admin") is True else holder
        code = await _device_code(request)
        answer = await check_in(services, event, code, "device" if member is None else "member", member)
        checked, sold = await door_counts(services, event.id)
        body = {**answer.json(), "checkedIn": checked, "sold": sold}
        return _json(body, 400 if answer.verdict is Verdict.INVALID else 200)
    return await _door_form(request)


@requires(BOX_OFFICE)
async def _door_form(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    event = await _door_event(services, request.path_params["slug"])
    answer = await check_in(services, event, form.get("code"), "page")
    if _wants_json(request):
        checked, sold = await door_counts(services, event.id)
        body = {**answer.json(), "checkedIn": checked, "sold": sold}
        return _json(body, 400 if answer.verdict is Verdict.INVALID else 200)
    return await _page(request, services, event, answer)


ROUTES: tuple[Route, ...] = (
    Route("/events/{slug}/checkin", checkin_page, methods=["GET"]),
    Route("/events/{slug}/checkin", checkin_post, methods=["POST"]),
)

"""What each peer holds of one member, for the account service alone: a summary answered to its signed GET of
`/members/summary`, and the erasure of the member's personal data when their account is deleted (an `Erase`
activity from the account actor, delivered through its outbox).

Neither carries the email address itself: both name the member by the SHA-256 digest of the lower-cased address
(`emailDigest`), so no access log, inbox row or outbox document of any peer keeps the address of someone who
asked to be erased."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.context import Context, Services
from actors.kind import KindSetup
from actors.sessions import close_member_sessions
from actors.web import services_of
from inbox.dispatch import ListenerKey, Outcome
from inbox.errors import Forbidden, InboxError, Malformed
from inbox.signatures import SignedRequest, verify
from mail.states import MailState
from store.models import AuditEntry, MailMessage, StoredObject

SUMMARY_PATH = "/members/summary"
ERASE = "Erase"  # the account actor's activity: erase this member's personal data here
ERASED_NAME = "(erased)"
ERASED_EMAIL = ""  # what code that mails a buyer reads as "no address": nothing is sent
CANCELLED = "cancelled: the recipient's account was deleted"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_MEMBER = re.compile(r"^[0-9a-f-]{1,36}$")


def email_digest(email: str) -> str:
    """How the account service and the peers name an address between them (as the events peer's waiting list
    keeps it)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class MemberRef:
    member: str  # the member's id at the account service
    digest: str  # email_digest of their verified address


def member_ref(member: object, digest: object) -> MemberRef:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ValueError("emailDigest must be the 64 hex digits of the address's SHA-256 digest")
    if not isinstance(member, str) or not _MEMBER.match(member):
        raise ValueError("member must be the member's id at the account service")
    return MemberRef(member, digest)


async def account_request(request: Request, services: Services) -> Response | None:
    """None when the GET is signed by the account service's actor; else the refusal, saying nothing else."""
    account = services.peer_actor("account")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "signature" not in headers and "signature-input" not in headers:
        return JSONResponse({"error": "sign the request as the account service's actor"}, status_code=401)
    query = request.url.query
    signed = SignedRequest(
        method="GET",
        url=services.actor.base_url + request.url.path + (f"?{query}" if query else ""),
        path=request.url.path,
        query=query,
        headers=headers,
        body=b"",
    )
    try:
        verified = await verify(signed, services.directory.key, services.clock())
    except InboxError as exc:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)
    if account is None or verified.owner != account:
        return JSONResponse({"error": "only the account service may ask about members"}, status_code=403)
    return None


# (read session, services, member) → the kind's part of the member's summary
Summary = Callable[[AsyncSession, Services, MemberRef], Awaitable[dict[str, Any]]]
# (write session, services, member) → the erasure in the activity's own transaction
Erasure = Callable[[AsyncSession, Services, MemberRef], Awaitable[None]]


def summary_route(summary: Summary) -> Route:
    async def endpoint(request: Request) -> Response:
        services = services_of(request)
        refused = await account_request(request, services)
        if refused is not None:
            return refused
        try:
            ref = member_ref(request.query_params.get("member"), request.query_params.get("emailDigest"))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        async with services.store.read() as session:
            found = await summary(session, services, ref)
        return JSONResponse(found, headers={"Cache-Control": "no-store"})

    return Route(SUMMARY_PATH, endpoint)


def erasure_listener(erase: Erasure) -> Callable[[Context], Awaitable[Outcome]]:
    async def on_erase(ctx: Context) -> Outcome:
        services = ctx.services
        if ctx.activity.actor != services.peer_actor("account"):
            raise Forbidden("only the account service erases a member's data")
        obj = ctx.activity.object_doc or {}
        try:
            ref = member_ref(obj.get("id", "").rsplit("/", 1)[-1], obj.get("emailDigest"))
        except (ValueError, AttributeError) as exc:
            raise Malformed(str(exc)) from None
        async with ctx.transaction() as session:
            await erase(session, services, ref)
            await cancel_mail(session, ref.digest, ctx.now)
        await close_member_sessions(services.store, ref.member)
        return Outcome.PROCESSED

    return on_erase


def register(setup: KindSetup, summary: Summary, erase: Erasure) -> None:
    """The kind's summary page and erasure listener."""
    setup.routes.append(summary_route(summary))
    setup.listeners.on(ListenerKey(ERASE), erasure_listener(erase))


def erased_customer(customer: object, at: str) -> dict[str, Any]:
    kept = {k: v for k, v in customer.items() if k == "type"} if isinstance(customer, dict) else {}
    return {**kept, "name": ERASED_NAME, "email": ERASED_EMAIL, "erased": at}


def customer_digest(data: dict[str, Any]) -> str | None:
    customer = data.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    return email_digest(email) if isinstance(email, str) and email else None


async def cancel_mail(session: AsyncSession, digest: str, now: float) -> int:
    """Mail to the address: a message not yet sent (and not being sent right now) is cancelled; every message
    keeps no copy of the address or the text. How many messages were touched."""
    rows = await session.execute(select(MailMessage.id, MailMessage.recipients))
    ids = [row.id for row in rows if any(email_digest(str(r)) == digest for r in row.recipients or [])]
    touched = 0
    for message_id in ids:
        message = await session.get(MailMessage, message_id)
        if message is None or (message.state == MailState.PENDING and message.locked_until > now):
            continue  # being sent at this moment: the worker's answer decides it
        if message.state == MailState.PENDING:
            message.state, message.last_error = MailState.FAILED.value, CANCELLED
        message.recipients, message.raw, message.draft = [], None, None
        touched += 1
    return touched


async def audit_of(session: AsyncSession, ref: MemberRef, limit: int = 200) -> list[AuditEntry]:
    """The audit log's entries naming the member (by their address, or their id)."""
    names = [w for w in await session.scalars(select(AuditEntry.who).distinct()) if email_digest(w) == ref.digest]
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.who.in_([*names, ref.member])).order_by(AuditEntry.id.desc()).limit(limit)
    )
    return list(rows)


async def buyer_rows(session: AsyncSession, services: Services, kind: str, digest: str) -> list[StoredObject]:
    """This peer's documents of type `kind` whose `customer.email` is the member's address, newest first (only
    the addresses are read to find them; each match is then loaded for update)."""
    email = StoredObject.data["customer"]["email"].as_string()
    rows = await session.execute(
        select(StoredObject.id, email).where(StoredObject.actor == services.actor.name, StoredObject.type == kind)
    )
    ids = [row[0] for row in rows if isinstance(row[1], str) and row[1] and email_digest(row[1]) == digest]
    if not ids:
        return []
    found = await session.scalars(
        select(StoredObject).where(StoredObject.id.in_(ids)).order_by(StoredObject.created_at.desc())
    )
    return list(found)


async def made_by(session: AsyncSession, entries: list[AuditEntry], kind: str) -> list[dict[str, str]]:
    """The objects of type `kind` the audit entries say the member made or changed (a subject is the object
    itself, or an activity of ours whose object it is), once each, newest first."""
    seen: dict[str, dict[str, str]] = {}
    for entry in entries:
        row = await session.get(StoredObject, entry.subject)
        if row is None:
            continue
        doc = row.data
        if row.type != kind:
            inner = doc.get("object")
            if not isinstance(inner, dict) or inner.get("type") != kind or not isinstance(inner.get("id"), str):
                continue
            current = await session.get(StoredObject, inner["id"])
            doc = current.data if current is not None and current.type == kind else inner
        seen.setdefault(str(doc["id"]), {"id": str(doc["id"]), "name": str(doc.get("name") or doc["id"])})
    return list(seen.values())

"""Deleting an account: the member confirms with their password; the member goes (with their roles, links,
tokens and codes, by the store's cascade) and every peer is told, in the same transaction, to erase what it
holds of them: an `Erase` activity through the outbox to each peer's actor, delivered with retries, so a peer
that is down erases when it is back. Orders stay for the accounts, without the buyer's name and address."""

from __future__ import annotations

from sqlalchemy import delete
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from activities.build import activity
from actors import audit
from actors.account import members
from actors.account.dashboard import signed_in_member
from actors.account.summaries import PEER_KINDS
from actors.context import Services
from actors.member_data import ERASE, cancel_mail, email_digest
from actors.sessions import close_member_sessions
from actors.web import checked_form, render, services_of, sign_out
from store.models import Member

PAGE = "/account/delete"
WRONG = "That is not your password: nothing was deleted."


def erase_activity(services: Services, member: Member) -> dict[str, object] | None:
    """The one `Erase` addressed privately to every configured peer's actor; None when there is no peer."""
    peers = [actor for kind in PEER_KINDS if (actor := services.peer_actor(kind))]
    if not peers:
        return None
    subject = {
        "id": services.actor.url(f"members/{member.id}"),
        "type": "Person",
        "emailDigest": email_digest(member.email),
    }
    summary = "This member's account was deleted: erase their personal data."
    return activity(ERASE, services.actor.new_activity_id(), services.actor.id, subject, to=peers, summary=summary)


async def delete_page(request: Request) -> Response:
    services = services_of(request)
    member = await signed_in_member(request, services)
    if member is None:
        return RedirectResponse(f"/signin?next={PAGE}", status_code=303)
    if request.method == "GET":
        return render(request, services, "account/delete.html", {"email": member.email}, private=True)
    form = await checked_form(request, services)
    client = request.client.host if request.client else ""
    throttle = services.sessions.throttle
    if not throttle.allows(client):
        error = "Too many wrong passwords were tried. Wait a minute, then try again."
        return render(
            request, services, "account/delete.html", {"email": member.email, "error": error}, 429, private=True
        )
    if not members.password_matches(member, str(form.get("password", ""))):
        throttle.failed(client)
        return render(
            request, services, "account/delete.html", {"email": member.email, "error": WRONG}, 403, private=True
        )
    now = services.clock()
    async with services.store.write() as db:
        erase = erase_activity(services, member)
        if erase is not None:
            await services.emit(db, erase)
        await cancel_mail(db, email_digest(member.email), now)
        await audit.record(
            db, {"member": member.id}, "account deleted", services.actor.url(f"members/{member.id}"), now
        )
        await db.execute(delete(Member).where(Member.id == member.id))
    await close_member_sessions(services.store, member.id)
    await sign_out(request, services)
    return render(request, services, "account/delete.html", {"deleted": True}, private=True)


ROUTES = [Route(PAGE, delete_page, methods=["GET", "POST"])]

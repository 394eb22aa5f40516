"""The account service's front page for a signed-in member (name, address and whether it is confirmed, change
password, change address, sign out), and what its forms do. A new address is used only once the link sent to
it is followed; the old address is told."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.account import links, member_mail, members
from actors.account.signup import NOTICE, TOO_MANY
from actors.account.throttle import client_of, throttles
from actors.context import Services
from actors.sessions import close_member_sessions
from actors.web import checked_form, redirect, render, services_of, session, sign_in, sign_out
from store.models import Member

HOME = "account/home.html"
DONE = {
    "password": "Your password is changed. You were signed out everywhere else.",
    "verify": "We sent a new confirmation link to your address.",
    "email": "We sent a link to your new address: your account moves to it once you follow the link.",
}
WRONG_PASSWORD = "That is not your current password."


async def _member(db: AsyncSession, data: dict[str, Any]) -> Member | None:
    member_id = data.get("member")
    return await db.get(Member, member_id) if isinstance(member_id, str) else None


async def _home(request: Request, services: Services, status: int = 200, **extra: Any) -> Response:
    data = session(request, services)
    async with services.store.read() as db:
        member = await _member(db, data)
        pending = await links.pending_email(db, member.id, services.clock()) if member else None
    context: dict[str, Any] = {"the_member": member, "pending": pending, "admin_token": data.get("admin") is True}
    done = request.query_params.get("done", "")
    if done in DONE and member is not None:
        context["notice"] = DONE[done]
    return render(request, services, HOME, {**context, **extra}, status, private=True)


def _wrong_password(request: Request, services: Services, member: Member, password: str) -> tuple[int, str] | None:
    """Why the current password typed into a form is refused (held back like sign-in's guesses), or None."""
    guard, client, now = throttles(request).signin, client_of(request), services.clock()
    refusal = guard.refusal(client, member.email, now)
    if refusal is not None:
        return 429, refusal
    if not members.password_matches(member, password):
        guard.failed(client, member.email, now)
        return 403, WRONG_PASSWORD
    return None


async def home(request: Request) -> Response:
    return await _home(request, services_of(request))


async def _signed_in(request: Request, services: Services) -> Response | None:
    """None for a signed-in member, the sign-in page's address otherwise."""
    if "member" in session(request, services):
        return None
    return redirect(request, services, "/signin?next=/")


async def resend(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    if (away := await _signed_in(request, services)) is not None:
        return away
    now = services.clock()
    async with services.store.write() as db:
        member = await _member(db, session(request, services))
        if member is None or member.email_verified_at is not None:
            return redirect(request, services, "/")
        if not throttles(request).may_mail(client_of(request), member.email, now):
            return await _home(request, services, 429, error=TOO_MANY)
        secret = await links.make(db, member.id, "verify", member.email, now)
        await member_mail.verify(db, services, member.email, links.url(services, "verify", secret))
    return redirect(request, services, "/?done=verify")


async def change_password(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    if (away := await _signed_in(request, services)) is not None:
        return away
    current, new = str(form.get("current", "")), str(form.get("password", ""))
    try:
        password_hash = members.hash_password(new)
    except members.MemberError as exc:
        return await _home(request, services, 400, error=str(exc))
    now = services.clock()
    async with services.store.write() as db:
        member = await _member(db, session(request, services))
        if member is None:
            return redirect(request, services, "/signin?next=/")
        if (wrong := _wrong_password(request, services, member, current)) is not None:
            return await _home(request, services, wrong[0], error=wrong[1])
        member.password_hash, member.password_changed_at = password_hash, now
        data = members.session_data(member, await members.roles_of(db, member.id))
    await close_member_sessions(services.store, member.id)
    await sign_in(request, services, data)
    return redirect(request, services, "/?done=password")


async def change_email(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    if (away := await _signed_in(request, services)) is not None:
        return away
    try:
        new = members.normal_email(str(form.get("email", "")))
    except members.MemberError as exc:
        return await _home(request, services, 400, error=str(exc))
    now = services.clock()
    async with services.store.write() as db:
        member = await _member(db, session(request, services))
        if member is None:
            return redirect(request, services, "/signin?next=/")
        if (wrong := _wrong_password(request, services, member, str(form.get("current", "")))) is not None:
            return await _home(request, services, wrong[0], error=wrong[1])
        if new == member.email:
            return await _home(request, services, 400, error="That is your address already.")
        if not throttles(request).may_mail(client_of(request), new, now):
            return await _home(request, services, 429, error=TOO_MANY)
        if await members.by_email(db, new) is not None:
            # answered as for a free address, so that the form tells nobody whose address it is
            await member_mail.signup_again(db, services, new, now)
        else:
            secret = await links.make(db, member.id, "email", new, now)
            await member_mail.new_address(db, services, new, links.url(services, "email", secret))
        await member_mail.address_changing(db, services, member.email, new, f"{member.id}\n{now!r}")
    return redirect(request, services, "/?done=email")


async def confirm_email(request: Request) -> Response:
    """The new address's link: the account moves to it (and it counts as confirmed); the member's sessions,
    which hold the old address, end."""
    services = services_of(request)
    if request.method == "GET":
        secret, link = await links.opened(services, request.query_params, "email")
        if link is None:
            return render(
                request, services, NOTICE, {"title": "Link not valid", "error": links.INVALID}, 400, private=True
            )
        context = {
            "action": "/email/confirm",
            "token": secret,
            "email": link.email,
            "title": "Confirm your new address",
        }
        return render(request, services, "account/confirm.html", context, private=True)
    form = await checked_form(request, services)
    now = services.clock()
    try:
        async with services.store.write() as db:
            link = await links.use(db, str(form.get("token", "")), "email", now)
            member = await db.get(Member, link.member_id) if link is not None else None
            if link is None or member is None:
                raise members.MemberError(links.INVALID)
            if await members.by_email(db, link.email) is not None:
                raise members.MemberError("Another account took this address meanwhile; yours keeps its old one.")
            member.email, member.email_verified_at = link.email, now
            member_id, email = member.id, member.email
    except members.MemberError as exc:
        return render(request, services, NOTICE, {"title": "Address not changed", "error": str(exc)}, 400, private=True)
    await close_member_sessions(services.store, member_id)
    await sign_out(request, services)
    context = {"title": "Address changed", "view": "email_changed", "sent_to": email}
    return render(request, services, NOTICE, context, private=True)


ROUTES = [
    Route("/", home),
    Route("/verify/resend", resend, methods=["POST"]),
    Route("/password", change_password, methods=["POST"]),
    Route("/email", change_email, methods=["POST"]),
    Route("/email/confirm", confirm_email, methods=["GET", "POST"]),
]

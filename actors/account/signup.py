"""Sign-up by email and password, the verification link, and the forgotten password's reset link.

Neither page tells who is a member: signing up with an address that has an account answers as for a new one
(its owner gets an email saying someone tried), and a reset for an address nobody has answers as for one that
exists. Emailed links only show a page with a button on GET: mail scanners follow links."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.account import links, member_mail, members
from actors.account.throttle import client_of, throttles
from actors.context import Services
from actors.sessions import close_member_sessions
from actors.web import checked_form, redirect, render, services_of, sign_in
from store.models import Member

TOO_MANY = "Too many emails were asked for from here or for this address. Try again in an hour."
NOTICE = "account/notice.html"


def _page(request: Request, template: str, context: dict[str, object], status: int = 200) -> Response:
    return render(request, services_of(request), template, context, status, private=True)


async def signup(request: Request) -> Response:
    services = services_of(request)
    if request.method == "GET":
        return _page(request, "account/signup.html", {"email": "", "name": ""})
    form = await checked_form(request, services)
    given, name, password = (str(form.get(f, "")) for f in ("email", "name", "password"))
    context = {"email": given, "name": name}
    try:
        email = members.normal_email(given)
        if not name.strip():
            raise members.MemberError("Tell us your name (it is shown on what you post and buy).")
        password_hash = members.hash_password(password)  # for an existing address too: the same work either way
    except members.MemberError as exc:
        return _page(request, "account/signup.html", {**context, "error": str(exc)}, 400)
    now = services.clock()
    if not throttles(request).may_mail(client_of(request), email, now):
        return _page(request, "account/signup.html", {**context, "error": TOO_MANY}, 429)
    try:
        await _sign_up(services, email, name, password_hash, now)
    except IntegrityError:
        pass  # the same address signed up at the same moment: the other request made the account
    return _page(request, NOTICE, {"title": "Check your inbox", "sent_to": email, "view": "signed_up"})


async def _sign_up(services: Services, email: str, name: str, password_hash: str, now: float) -> None:
    """A new member and their verification email; for a taken address, only an email to its owner."""
    async with services.store.write() as db:
        existing = await members.by_email(db, email)
        if existing is not None:
            await member_mail.signup_again(db, services, existing.email, now)
        else:
            member = await members.new_member(db, email, name, password_hash, now)
            secret = await links.make(db, member.id, "verify", member.email, now)
            await member_mail.verify(db, services, member.email, links.url(services, "verify", secret))


async def verify(request: Request) -> Response:
    services = services_of(request)
    if request.method == "GET":
        secret, link = await links.opened(services, request.query_params, "verify")
        if link is None:
            return _page(request, NOTICE, {"title": "Link not valid", "error": links.INVALID}, 400)
        return _page(
            request,
            "account/confirm.html",
            {"action": "/verify", "token": secret, "email": link.email, "title": "Confirm your email address"},
        )
    form = await checked_form(request, services)
    now = services.clock()
    try:
        async with services.store.write() as db:
            link = await links.use(db, str(form.get("token", "")), "verify", now)
            member = await db.get(Member, link.member_id) if link is not None else None
            if link is None or member is None or member.email != link.email:
                raise members.MemberError(links.INVALID)  # rolls the transaction back
            member.email_verified_at = member.email_verified_at or now
            email = member.email
    except members.MemberError as exc:
        return _page(request, NOTICE, {"title": "Link not valid", "error": str(exc)}, 400)
    return _page(request, NOTICE, {"title": "Address confirmed", "view": "verified", "sent_to": email})


async def reset(request: Request) -> Response:
    services = services_of(request)
    if request.method == "GET":
        return _page(request, "account/reset.html", {"email": ""})
    form = await checked_form(request, services)
    given = str(form.get("email", ""))
    try:
        email = members.normal_email(given)
    except members.MemberError as exc:
        return _page(request, "account/reset.html", {"email": given, "error": str(exc)}, 400)
    now = services.clock()
    if not throttles(request).may_mail(client_of(request), email, now):
        return _page(request, "account/reset.html", {"email": given, "error": TOO_MANY}, 429)
    async with services.store.write() as db:
        member = await members.by_email(db, email)
        if member is not None:
            secret = await links.make(db, member.id, "reset", member.email, now)
            await member_mail.reset(db, services, member.email, links.url(services, "reset", secret))
    return _page(request, NOTICE, {"title": "Check your inbox", "sent_to": email, "view": "reset_asked"})


async def new_password(request: Request) -> Response:
    """The reset link's page: choose a new password. Using it ends every session of the member and signs this
    browser in afresh."""
    services = services_of(request)
    if request.method == "GET":
        secret, link = await links.opened(services, request.query_params, "reset")
        if link is None:
            return _page(request, NOTICE, {"title": "Link not valid", "error": links.INVALID}, 400)
        return _page(request, "account/new_password.html", {"token": secret, "email": link.email})
    form = await checked_form(request, services)
    secret, password = str(form.get("token", "")), str(form.get("password", ""))
    now = services.clock()
    try:
        password_hash = members.hash_password(password)
    except members.MemberError as exc:
        return _page(request, "account/new_password.html", {"token": secret, "error": str(exc)}, 400)
    try:
        async with services.store.write() as db:
            link = await links.use(db, secret, "reset", now)
            member = await db.get(Member, link.member_id) if link is not None else None
            if link is None or member is None or member.email != link.email:
                raise members.MemberError(links.INVALID)
            member.password_hash, member.password_changed_at = password_hash, now
            member.email_verified_at = member.email_verified_at or now  # the link reached that inbox
            data = members.session_data(member, await members.roles_of(db, member.id))
    except members.MemberError as exc:
        return _page(request, NOTICE, {"title": "Link not valid", "error": str(exc)}, 400)
    await close_member_sessions(services.store, data["member"])
    throttles(request).signin.forget(data["email"])
    await sign_in(request, services, data)
    return redirect(request, services, "/?done=password")


ROUTES = [
    Route("/signup", signup, methods=["GET", "POST"]),
    Route("/verify", verify, methods=["GET", "POST"]),
    Route("/reset", reset, methods=["GET", "POST"]),
    Route("/reset/new", new_password, methods=["GET", "POST"]),
]

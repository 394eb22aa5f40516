"""Signing in to the account service with an email and a password, and signing out of it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.account import members
from actors.account.throttle import client_of, throttles
from actors.web import checked_form, redirect, render, safe_next, services_of, session, sign_in, sign_out

WRONG = "That email address and password do not match an account."


async def signin(request: Request) -> Response:
    services = services_of(request)
    back = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if "member" in session(request, services):
            return redirect(request, services, back)
        return render(request, services, "account/signin.html", {"next": back, "email": ""}, private=True)
    form = await checked_form(request, services)
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    back = safe_next(str(form.get("next", "")))
    client, typed = client_of(request), email.lower()[:254]
    guard, now = throttles(request).signin, services.clock()
    context = {"next": back, "email": email}
    refusal = guard.refusal(client, typed, now)
    if refusal is not None:  # checked before the password: a right one during a lockout does not sign in
        return render(request, services, "account/signin.html", {**context, "error": refusal}, 429, private=True)
    async with services.store.read() as db:
        member = await members.by_email(db, email)
        ok = members.password_matches(member, password)
        roles = await members.roles_of(db, member.id) if ok and member is not None else []
    if not ok or member is None:
        guard.failed(client, typed, now)
        return render(request, services, "account/signin.html", {**context, "error": WRONG}, 403, private=True)
    guard.succeeded(typed)
    await sign_in(request, services, members.session_data(member, roles))
    return redirect(request, services, back)


async def signout(request: Request) -> Response:
    services = services_of(request)
    await checked_form(request, services)
    await sign_out(request, services)
    return redirect(request, services, "/")


ROUTES = [
    Route("/signin", signin, methods=["GET", "POST"]),
    Route("/signout", signout, methods=["POST"]),
]

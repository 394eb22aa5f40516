"""The admin's members pages: the list, invitations by email (the invitee chooses a name and password at the
emailed link, which also confirms the address), and role changes. Every role change is written to the audit
log in its own transaction and ends the member's sessions here (they held the old roles), and nobody can take away the last admin's admin role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors import audit, roles
from actors.account import links, member_mail, members
from actors.account.signup import NOTICE
from actors.context import Services
from actors.sessions import close_member_sessions
from actors.web import checked_form, redirect, render, services_of, session, sign_in
from store.models import Member, MemberRole

PAGE = "/admin/members"
DONE = {"invited": "Invitation sent.", "roles": "Roles saved: the member signs in again to use them."}
LAST_ADMIN = "That would leave the cooperative with no admin: give another member the admin role first."


def _roles_asked(form: FormData) -> set[str]:
    asked = {str(r) for r in form.getlist("role")}
    unknown = asked - set(roles.ROLES)
    if unknown:
        raise members.MemberError(f"There is no role called {sorted(unknown)[0][:60]}.")
    return asked


async def _admins(db: AsyncSession) -> set[str]:
    return set(await db.scalars(select(MemberRole.member_id).where(MemberRole.role == roles.ADMIN)))


async def _page(request: Request, services: Services, status: int = 200, **extra: Any) -> Response:
    async with services.store.read() as db:
        rows = list(await db.scalars(select(Member).order_by(Member.email)))
        held: dict[str, set[str]] = {}
        for grant in await db.scalars(select(MemberRole)):
            held.setdefault(grant.member_id, set()).add(grant.role)
    listed = [
        {
            "id": m.id,
            "email": m.email,
            "name": m.name,
            "verified": m.email_verified_at is not None,
            "invited": m.password_hash is None,
            "roles": held.get(m.id, set()),
        }
        for m in rows
    ]
    context = {"members": listed, "role_names": roles.ROLES, "invite": {"email": "", "roles": set()}, **extra}
    return render(request, services, "account/members.html", context, status, private=True)


@roles.requires(roles.ADMIN)
async def members_page(request: Request) -> Response:
    services = services_of(request)
    return await _page(request, services, notice=DONE.get(request.query_params.get("done", ""), ""))


@roles.requires(roles.ADMIN)
async def invite(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    given = str(form.get("email", ""))
    data = session(request, services)
    now = services.clock()
    try:
        email = members.normal_email(given)
        asked = _roles_asked(form)
        async with services.store.write() as db:
            if await members.by_email(db, email) is not None:
                raise members.MemberError(f"{email} is a member already: change their roles in the list.")
            member = await members.new_member(db, email, "", None, now)
            await members.set_roles(db, member.id, asked, roles.who(data), now)
            await audit.record(db, data, "member invited", email, now, " ".join(sorted(asked)) or "no roles")
            secret = await links.make(db, member.id, "invite", email, now)
            by = str(data.get("name") or data.get("email") or "An admin of the cooperative")
            await member_mail.invite(db, services, email, links.url(services, "invite", secret), by)
    except members.MemberError as exc:
        invited = {"email": given, "roles": {str(r) for r in form.getlist("role")}}
        return await _page(request, services, 400, error=str(exc), invite=invited)
    return redirect(request, services, f"{PAGE}?done=invited")


@roles.requires(roles.ADMIN)
async def change_roles(request: Request) -> Response:
    services = services_of(request)
    form = await checked_form(request, services)
    data = session(request, services)
    now = services.clock()
    member_id = request.path_params["member"]
    try:
        asked = _roles_asked(form)
        async with services.store.write() as db:
            member = await db.get(Member, member_id)
            if member is None:
                raise members.MemberError("There is no such member (maybe their account was deleted).")
            before = set(await members.roles_of(db, member.id))
            if roles.ADMIN in before and roles.ADMIN not in asked and await _admins(db) == {member.id}:
                raise members.MemberError(LAST_ADMIN)
            if before != asked:
                await members.set_roles(db, member.id, asked, roles.who(data), now)
                detail = f"{' '.join(sorted(before)) or 'no roles'} → {' '.join(sorted(asked)) or 'no roles'}"
                await audit.record(db, data, "roles changed", member.email, now, detail)
    except members.MemberError as exc:
        return await _page(request, services, 400, error=str(exc))
    if before != asked:
        # their sessions here hold the roles they had: they sign in again and get the new ones
        await close_member_sessions(services.store, member_id)
    return redirect(request, services, f"{PAGE}?done=roles")


async def invitation(request: Request) -> Response:
    """The invitation's link: the invitee chooses a name and password, which confirms their address too."""
    services = services_of(request)
    now = services.clock()
    if request.method == "GET":
        secret, link = await links.opened(services, request.query_params, "invite")
        if link is None:
            return render(
                request, services, NOTICE, {"title": "Link not valid", "error": links.INVALID}, 400, private=True
            )
        return render(
            request,
            services,
            "account/invitation.html",
            {"token": secret, "email": link.email, "name": ""},
            private=True,
        )
    form = await checked_form(request, services)
    secret, name, password = (str(form.get(f, "")) for f in ("token", "name", "password"))
    try:
        if not name.strip():
            raise members.MemberError("Tell us your name (it is shown on what you post and buy).")
        password_hash = members.hash_password(password)
    except members.MemberError as exc:
        context = {"token": secret, "name": name, "error": str(exc)}
        return render(request, services, "account/invitation.html", context, 400, private=True)
    try:
        async with services.store.write() as db:
            link = await links.use(db, secret, "invite", now)
            member = await db.get(Member, link.member_id) if link is not None else None
            if link is None or member is None or member.email != link.email:
                raise members.MemberError(links.INVALID)
            member.name = name.strip()[:200]
            member.password_hash, member.password_changed_at = password_hash, now
            member.email_verified_at = now
            data = members.session_data(member, await members.roles_of(db, member.id))
    except members.MemberError as exc:
        return render(request, services, NOTICE, {"title": "Link not valid", "error": str(exc)}, 400, private=True)
    await sign_in(request, services, data)
    return redirect(request, services, "/")


ROUTES = [
    Route(PAGE, members_page),
    Route(f"{PAGE}/invite", invite, methods=["POST"]),
    Route(PAGE + "/{member}/roles", change_roles, methods=["POST"]),
    Route("/invitation", invitation, methods=["GET", "POST"]),
]

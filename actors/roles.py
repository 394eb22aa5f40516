"""Members' roles, and the check every staff page and client-to-server action makes.

A signed-in session is either the admin token's (`{"admin": True}`: every role) or a member's, made at sign-in
through the account service: `{"member": id, "email": …, "name": …, "roles": [...], …}`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, ParamSpec

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from actors.context import Services

ADMIN, EDITOR, ORGANISER, BOX_OFFICE, SHOP_STAFF = "admin", "editor", "organiser", "box_office", "shop_staff"
ROLES: Mapping[str, str] = {
    ADMIN: "Admin (everything, members and roles)",
    EDITOR: "Editor (the blog)",
    ORGANISER: "Organiser (events)",
    BOX_OFFICE: "Box office (check-in at the door)",
    SHOP_STAFF: "Shop staff (orders and refunds)",
}

P = ParamSpec("P")


def roles_of(data: Mapping[str, Any]) -> frozenset[str]:
    """The roles a session holds: all of them for the admin token, a member's own otherwise."""
    if data.get("admin") is True:
        return frozenset(ROLES)
    roles = data.get("roles")
    if not isinstance(roles, list):
        return frozenset()
    held = frozenset(r for r in roles if isinstance(r, str) and r in ROLES)
    return frozenset(ROLES) if ADMIN in held else held


def allows(data: Mapping[str, Any], role: str) -> bool:
    return role in roles_of(data)


def signed_in(data: Mapping[str, Any]) -> bool:
    """A member's session or the admin token's (a visitor's holds neither)."""
    return "member" in data or data.get("admin") is True


def who(data: Mapping[str, Any]) -> str:
    """How the audit log names the session's holder."""
    if data.get("admin") is True:
        return "admin token"
    return str(data.get("email") or data.get("member") or "nobody")


def requires(
    role: str,
) -> Callable[
    [Callable[Concatenate[Request, P], Awaitable[Response]]], Callable[Concatenate[Request, P], Awaitable[Response]]
]:
    """An endpoint only a holder of `role` reaches (the admin holds every role). Before it runs (before its form is
    read) a visitor is sent to sign in and brought back; a member without the role gets a 403 page saying which
    role the page needs."""
    if role not in ROLES:
        raise ValueError(f"no such role: {role}")
    return _guarded(lambda _services: role)


def requires_kind_role() -> Callable[
    [Callable[Concatenate[Request, P], Awaitable[Response]]], Callable[Concatenate[Request, P], Awaitable[Response]]
]:
    """`requires` the role of the peer's own kind (`Kind.staff_role`: the blog's editor, the events' organiser), for
    pages every kind serves, such as image uploads."""
    return _guarded(lambda services: services.site.kind_role)


def _guarded(
    role_for: Callable[[Services], str],
) -> Callable[
    [Callable[Concatenate[Request, P], Awaitable[Response]]], Callable[Concatenate[Request, P], Awaitable[Response]]
]:
    def decorate(
        handler: Callable[Concatenate[Request, P], Awaitable[Response]],
    ) -> Callable[Concatenate[Request, P], Awaitable[Response]]:
        @functools.wraps(handler)
        async def guarded(request: Request, /, *args: P.args, **kwargs: P.kwargs) -> Response:
            from actors.web import refused_page, services_of, session

            services = services_of(request)
            data = session(request, services)
            role = role_for(services)
            if allows(data, role):
                return await handler(request, *args, **kwargs)
            if not signed_in(data):
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return refused_page(request, services, role)

        return guarded

    return decorate

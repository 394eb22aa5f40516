"""Pages: rendering, the signed session cookie, the admin login check and CSRF tokens."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

from actors import page_inputs, roles
from actors.context import Services
from actors.page_cache import Shape

MAX_FORM_FIELD = 100_000


def services_of(request: Request) -> Services:
    """The peer's services, which `create_app` keeps in the app's state."""
    services = request.app.state.services
    if not isinstance(services, Services):
        raise TypeError(f"the app's state holds {type(services).__name__}, not Services")
    return services


def _sign(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload, hashlib.sha256).digest()).decode().rstrip("=")


def cookie_name(services: Services) -> str:
    """One cookie per peer: browsers share cookies across ports of one host."""
    return f"rose_ash_{services.actor.name}"


# A visitor's cookie is `a.<sid>.<mac>` (signed with the peer's random secret: it carries no rights, only the
# id its CSRF tokens are made from); a signed-in one is `s.<token>`, a server-side session that logout ends.
SESSION_SCOPE = "rose_ash.session"
COOKIE_AGE = 30 * 24 * 3600  # seconds a session cookie is kept by the browser
ISSUE_SCOPE = "rose_ash.session.issue"  # the cookie value to set on the response
TOKEN_SCOPE = "rose_ash.session.token"  # the signed-in session's token, when the request came with one


async def load_session(request: Request, services: Services) -> None:
    """Read the request's session into its scope (before the endpoint runs, as the look-up may hit the store)."""
    raw = request.cookies.get(cookie_name(services), "")
    data: dict[str, Any] = {}
    if raw.startswith("s."):
        found = await services.sessions.load(raw[2:])
        if found is not None:
            data = found
            request.scope[TOKEN_SCOPE] = raw[2:]
    elif raw.startswith("a."):
        sid, _, mac = raw[2:].partition(".")
        if sid and hmac.compare_digest(_sign(services.sessions.secret, f"visitor:{sid}".encode()), mac):
            data = {"sid": sid}
    request.scope[SESSION_SCOPE] = data


def session(request: Request, services: Services) -> dict[str, Any]:
    """The request's session; a visitor without one gets a fresh id, saved by `render`/`redirect`."""
    data: dict[str, Any] = request.scope.setdefault(SESSION_SCOPE, {})
    if "sid" not in data:
        data["sid"] = secrets.token_urlsafe(16)
        request.scope[ISSUE_SCOPE] = _visitor_cookie(services, data["sid"])
    return data


def _visitor_cookie(services: Services, sid: str) -> str:
    return f"a.{sid}.{_sign(services.sessions.secret, f'visitor:{sid}'.encode())}"


async def sign_in(request: Request, services: Services, data: dict[str, Any]) -> None:
    """A new server-side session for this browser (a new id and CSRF tokens: nothing from before carries over)."""
    await sign_out(request, services)
    fresh = {**data, "sid": secrets.token_urlsafe(16)}
    token = await services.sessions.open(fresh)
    request.scope[SESSION_SCOPE] = fresh
    request.scope[TOKEN_SCOPE] = token
    request.scope[ISSUE_SCOPE] = f"s.{token}"


async def sign_out(request: Request, services: Services) -> None:
    """End the signed-in session (its token stops working everywhere) and start a visitor's."""
    token = request.scope.pop(TOKEN_SCOPE, None)
    if token is not None:
        await services.sessions.close(token)
    request.scope[SESSION_SCOPE] = {}
    session(request, services)


def has_admin_bearer(request: Request, services: Services) -> bool:
    """The request carries the admin token as `Authorization: Bearer` (client-to-server, automation), and the
    admin token is not switched off (ROSE_ASH_ADMIN_TOKEN_LOGIN)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (
        services.admin_token_login
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), services.admin_token.encode())
    )


def is_admin(request: Request, services: Services) -> bool:
    return roles.allows(session(request, services), roles.ADMIN)


def holds(request: Request, services: Services, role: str) -> bool:
    """The session holds `role` (for what a page shows inline; endpoints use `roles.requires`)."""
    return roles.allows(session(request, services), role)


def is_staff(request: Request, services: Services) -> bool:
    """Signed in with at least one role (the pages show staff links and keep the page out of caches)."""
    return bool(roles.roles_of(session(request, services)))


def refused_page(request: Request, services: Services, role: str) -> Response:
    """The 403 a signed-in member gets on a page whose role they do not hold."""
    context = {"role": role, "role_label": roles.ROLES[role], "email": session(request, services).get("email", "")}
    return render(request, services, "layout/refused.html", context, 403, private=True)


# An endpoint only the admin reaches (members holding the admin role, or the admin token's session).
admin_only = roles.requires(roles.ADMIN)


def csrf_token(request: Request, services: Services) -> str:
    return _sign(services.sessions.secret, f"csrf:{session(request, services)['sid']}".encode())


async def checked_form(request: Request, services: Services, *, max_files: int = 0) -> FormData:
    """The posted form, after its CSRF token is checked against the session."""
    form = await request.form(max_files=max_files, max_fields=100)
    token = form.get("csrf")
    saved = request.scope.get(SESSION_SCOPE) or {}
    if (
        not isinstance(token, str)
        or "sid" not in saved
        or not hmac.compare_digest(token, _sign(services.sessions.secret, f"csrf:{saved['sid']}".encode()))
    ):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page and try again")
    for value in form.values():
        if isinstance(value, str) and len(value) > MAX_FORM_FIELD:
            raise HTTPException(413, "a form field is too long")
    return form


def _save(request: Request, response: Response, services: Services) -> Response:
    issued = request.scope.pop(ISSUE_SCOPE, None)
    if issued is not None:
        response.set_cookie(
            cookie_name(services),
            issued,
            httponly=True,
            samesite="lax",
            secure=services.actor.base_url.startswith("https://"),
            max_age=COOKIE_AGE,
        )
    return response


PAGE_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


def secure_page(response: Response, *, private: bool = False) -> Response:
    """The headers every HTML page gets; `private` ones (buyer details, the admin's views) are never cached."""
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


# A widget page is framed by other sites: it runs no script, submits no form and loads only its own images.
EMBED_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors {ancestors}"
)


def embeddable_page(services: Services, template: str, context: dict[str, Any]) -> Response:
    """A page other sites may show in an iframe (the ones ROSE_ASH_EMBED_ANCESTORS names): no session, no
    cookie, no admin chrome; every other page keeps `frame-ancestors 'none'`."""
    page = services.site.templates.get_template(template).render(actor=services.actor, **context)
    response = HTMLResponse(page)
    response.headers["Content-Security-Policy"] = EMBED_POLICY.format(ancestors=services.embed_ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def page_chrome(request: Request, services: Services, data: dict[str, Any], csrf: str) -> dict[str, Any]:
    """What every page's layout shows around its content, for the session `data`."""
    return {
        "request": request,
        "csrf": csrf,
        "admin": roles.allows(data, roles.ADMIN),
        "roles": roles.roles_of(data),
        "member": data.get("email", ""),
        "signed_in": roles.who(data) if roles.signed_in(data) else "",
        "staff_nav": services.site.staff_nav,
        "actor": services.actor,
        "nav": services.site.nav,
        "kind": services.site.kind_name,
        "peers": services.peers,
    }


def render(
    request: Request,
    services: Services,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    private: bool = False,
) -> Response:
    """A page; `private` for one that shows a buyer's details (an admin's page always counts as private)."""
    chrome = page_chrome(request, services, session(request, services), csrf_token(request, services))
    page = services.site.templates.get_template(template).render(**chrome, **context)
    response = secure_page(HTMLResponse(page, status_code=status_code), private=private or is_staff(request, services))
    return _save(request, response, services)


CSRF_PLACEHOLDER = "csrf-" + secrets.token_hex(16)


async def listing_page(
    request: Request, services: Services, template: str, context: Callable[[], Awaitable[dict[str, Any] | None]]
) -> Response | None:
    """A listing from `services.pages` for a visitor who is not signed in (the same page for all of them but for
    their CSRF token); None for anyone signed in, or when `context` says the page is not one to keep."""
    visitor = session(request, services)
    if request.method != "GET" or roles.signed_in(visitor) or visitor.get("email"):
        return None
    key = f"{template} {request.url.path}?{request.url.query}"

    async def rendered() -> list[bytes] | None:
        values = await context()
        if values is None:
            return None
        inputs = page_inputs.digest(values)  # the same values as the last time (only the clock moved): that page
        if (same := services.pages.rendered_from(key, inputs)) is not None:
            return same
        # in a thread: rendering hundreds of cards takes long enough that the other readers would wait for it
        chrome = page_chrome(request, services, {}, CSRF_PLACEHOLDER)
        html = await asyncio.to_thread(services.site.templates.get_template(template).render, **chrome, **values)
        pieces = html.encode().split(CSRF_PLACEHOLDER.encode())
        services.pages.rendered(key, inputs, pieces)
        return pieces

    pieces = await services.pages.pieces(key, services.store.generation, services.clock(), rendered)
    if pieces is None:
        return None
    if (shape := visitor_shape(request.scope)) is not None:
        services.pages.remember(shape, key)
    page = csrf_token(request, services).encode().join(pieces)  # bytes: the response sends them as they are
    return _save(request, secure_page(HTMLResponse(page)), services)


def visitor_shape(scope: Scope) -> Shape | None:
    """The shape of a GET that came with no cookie and no credentials (nobody signed in, no session to read):
    path, query and Accept; None for any other request."""
    if scope["method"] != "GET":
        return None
    accept = b""
    for name, value in scope["headers"]:
        if name in (b"cookie", b"authorization"):
            return None
        if name == b"accept":
            accept = value
    return scope["path"], scope["query_string"], accept


def visitor_page(services: Services, pieces: list[bytes]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A kept listing for a visitor who came without a cookie, as `listing_page` answers one: a fresh visitor
    session, its CSRF token joined in, the cookie that carries it and every page's headers."""
    sid = secrets.token_urlsafe(16)
    page = _sign(services.sessions.secret, f"csrf:{sid}".encode()).encode().join(pieces)
    cookie = _cookie_template(cookie_name(services), services.actor.base_url.startswith("https://"))
    return page, [
        (b"content-length", str(len(page)).encode()),
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-security-policy", PAGE_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"set-cookie", cookie.replace(_COOKIE_VALUE, _visitor_cookie(services, sid).encode())),
    ]


_COOKIE_VALUE = b"cookie-" + secrets.token_hex(16).encode()


@functools.lru_cache(maxsize=8)
def _cookie_template(name: str, secure: bool) -> bytes:
    """The Set-Cookie header `_save` writes (Starlette's own formatting), with a placeholder for the value: a
    visitor cookie's characters need no quoting, so the value goes in as it is."""
    response = Response()
    response.set_cookie(name, _COOKIE_VALUE.decode(), httponly=True, samesite="lax", secure=secure, max_age=COOKIE_AGE)
    return dict(response.raw_headers)[b"set-cookie"]


def redirect(request: Request, services: Services, url: str) -> Response:
    return _save(request, RedirectResponse(url, status_code=303), services)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target

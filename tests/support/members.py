"""A member's session on an in-process peer, exactly as the sign-in flow opens it (a server-side session with
the member's roles, its token in the `rose_ash_<kind>` cookie), and the CSRF token of that session."""

from __future__ import annotations

import re

from tests.support.app import App

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in_member(app: App, roles: list[str], email: str = "ed@example.org") -> str:
    """Signs the app's client in as a member holding `roles`; answers the session's CSRF token."""
    services = app.services
    token = await services.sessions.open({"member": "m1", "email": email, "roles": roles, "sid": "member-sid"})
    app.client.cookies.set(f"rose_ash_{services.actor.name}", f"s.{token}", domain="peer.test")
    page = await app.client.get("/", follow_redirects=True)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on / ({page.status_code})"
    return match.group(1)


async def sign_in_admin_token(app: App) -> str:
    """The admin token's session (every role), opened the way /login opens it."""
    token = await app.services.sessions.open({"admin": True, "sid": "admin-sid"})
    app.client.cookies.set(f"rose_ash_{app.services.actor.name}", f"s.{token}", domain="peer.test")
    page = await app.client.get("/", follow_redirects=True)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on / ({page.status_code})"
    return match.group(1)

"""Signing in to an in-process peer as its admin, as a browser does (the login form's CSRF token, then the
session cookie), and the CSRF token of the signed-in session."""

from __future__ import annotations

import re

import httpx

from tests.support.processes import ADMIN_TOKEN

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient) -> str:
    """Signs the client in as the admin; answers the CSRF token of its new session."""
    answer = await client.post("/login", data={"csrf": await csrf_of(client), "token": ADMIN_TOKEN, "next": "/"})
    assert answer.status_code == 303, answer.text[:300]
    return await csrf_of(client)

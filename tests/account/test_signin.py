"""Signing in to the account service: a member's right password opens a session holding their roles; a wrong one,
or an address nobody has, gets the same sentence and no session; signing in again starts a new session."""

from __future__ import annotations

import re

from actors.account import members
from tests.support.app import running_app

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery"


async def test_member_signs_in_and_out(database_url: str) -> None:
    async with running_app(database_url, kind="account") as app:
        async with app.store.write() as db:
            member = await members.new_member(db, "Ada@Example.org", "Ada", members.hash_password(PASSWORD), 1.0)
            await members.set_roles(db, member.id, {"editor"}, "test", 1.0)
        page = await app.client.get("/signin?next=/account")
        csrf = CSRF.search(page.text)
        assert csrf
        form = {"csrf": csrf.group(1), "email": "ada@example.org", "next": "/account"}

        wrong = await app.client.post("/signin", data={**form, "password": "not the password"})
        unknown = await app.client.post("/signin", data={**form, "email": "bob@example.org", "password": PASSWORD})
        assert wrong.status_code == unknown.status_code == 403
        assert "do not match an account" in wrong.text
        assert "do not match an account" in unknown.text

        first = await app.client.post("/signin", data={**form, "password": PASSWORD})
        assert first.status_code == 303 and first.headers["location"] == "/account"
        cookie = next(v for k, v in app.client.cookies.items() if k == "rose_ash_account")
        assert cookie.startswith("s.")
        session = await app.services.sessions.load(cookie[2:])
        assert session is not None and session["roles"] == ["editor"] and session["email"] == "ada@example.org"

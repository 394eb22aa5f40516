"""Every form of the members' pages posted without a CSRF token, or with a wrong one, is refused with 403 and
changes nothing: no row added, no member, role or link changed, no session ended, no email queued."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from actors.account import links
from store.models import Member, MemberLink, MemberRole, WebSession
from tests.account.member_flows import PASSWORD, Account, account_service
from tests.support.app import row_counts
from tests.support.smtp import SmtpSink


async def _snapshot(a: Account) -> tuple[Any, ...]:
    async with a.services.store.read() as db:
        people = [
            (m.id, m.email, m.name, m.password_hash, m.email_verified_at) for m in await db.scalars(select(Member))
        ]
        granted = sorted((r.member_id, r.role) for r in await db.scalars(select(MemberRole)))
        made = sorted((k.id, k.used_at) for k in await db.scalars(select(MemberLink)))
        sessions = sorted(s.id for s in await db.scalars(select(WebSession)))
    return sorted(people), granted, made, sessions, await row_counts(a.services.store)


@pytest.mark.parametrize("csrf", [None, "not-the-token"])
async def test_every_members_form_needs_its_csrf_token(
    database_url: str, smtp_server: SmtpSink, csrf: str | None
) -> None:
    async with account_service(database_url, smtp_server) as a:
        ada = await a.add_member("ada@example.org", frozenset({"admin"}), verified=False)
        bob = await a.add_member("bob@example.org", frozenset({"editor"}))
        async with a.services.store.write() as db:
            secrets = {p: await links.make(db, ada.id, p, ada.email, a.clock()) for p in links.LIFETIMES}
        assert (await a.sign_in("ada@example.org")).status_code == 303
        forms: list[tuple[str, dict[str, Any]]] = [
            ("/signin", {"email": "ada@example.org", "password": PASSWORD}),
            ("/signout", {}),
            ("/signup", {"email": "cy@example.org", "name": "Cy", "password": PASSWORD}),
            ("/verify", {"token": secrets["verify"]}),
            ("/verify/resend", {}),
            ("/reset", {"email": "ada@example.org"}),
            ("/reset/new", {"token": secrets["reset"], "password": "a new passphrase"}),
            ("/password", {"current": PASSWORD, "password": "a new passphrase"}),
            ("/email", {"email": "ada@new.example", "current": PASSWORD}),
            ("/email/confirm", {"token": secrets["email"]}),
            ("/invitation", {"token": secrets["invite"], "name": "Ada", "password": "a new passphrase"}),
            ("/admin/members/invite", {"email": "cy@example.org", "role": ["editor"]}),
            (f"/admin/members/{bob.id}/roles", {"role": ["admin"]}),
        ]
        before = await _snapshot(a)
        for path, form in forms:
            data = form if csrf is None else {"csrf": csrf, **form}
            answer = await a.client.post(path, data=data)
            assert answer.status_code == 403, (path, answer.status_code)
            assert "CSRF" in answer.text, path
        assert await _snapshot(a) == before
        assert (await a.client.get("/admin/members")).status_code == 200  # still signed in, as before

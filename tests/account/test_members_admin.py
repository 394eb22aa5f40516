"""The admin's members pages at the account service: only the admin reaches them (the admin token at /login,
or a member holding admin); invitations by email, where the invitee chooses a name and password (which also
confirms the address); role changes, each written to the audit log with the change; the last admin keeps
the admin role."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from actors.account import members
from store.models import AuditEntry
from tests.account.member_flows import PASSWORD, Account, account_service, link_in
from tests.support.app import row_counts
from tests.support.processes import ADMIN_TOKEN
from tests.support.smtp import SmtpSink


async def _audit(a: Account) -> list[tuple[str, str, str, str]]:
    async with a.services.store.read() as db:
        rows = await db.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.who, r.action, r.subject, r.detail) for r in rows]


async def _roles(a: Account, email: str) -> list[str]:
    member = await a.member(email)
    assert member is not None
    async with a.services.store.read() as db:
        return await members.roles_of(db, member.id)


async def _admin_token(a: Account, client: httpx.AsyncClient) -> None:
    answer = await a.post("/login", {"token": ADMIN_TOKEN, "next": "/admin/members"}, page="/login", client=client)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/members"


async def test_the_admin_invites_a_member_who_chooses_name_and_password(
    database_url: str, smtp_server: SmtpSink
) -> None:
    async with account_service(database_url, smtp_server) as a, a.browser() as admin:
        visitor = await a.client.get("/admin/members")
        assert visitor.status_code == 303 and visitor.headers["location"] == "/login?next=/admin/members"
        await _admin_token(a, admin)
        page = await admin.get("/admin/members")
        assert page.status_code == 200 and "Invite a member" in page.text

        invited = await a.post(
            "/admin/members/invite",
            {"email": "Cy@Example.org", "role": ["organiser", "box_office"]},
            page="/admin/members",
            client=admin,
        )
        assert invited.status_code == 303
        listed = await admin.get("/admin/members")
        assert "cy@example.org" in listed.text and "(invited)" in listed.text
        assert await _roles(a, "cy@example.org") == ["box_office", "organiser"]
        assert await _audit(a) == [("admin token", "member invited", "cy@example.org", "box_office organiser")]
        [mail] = await a.mails(1)
        assert mail.envelope_to == ["cy@example.org"] and "invited" in mail.message["Subject"]
        link = link_in(mail)
        assert (await a.sign_in("cy@example.org", "")).status_code == 403  # no password yet

        shown = await a.client.get(link)
        assert shown.status_code == 200 and "cy@example.org" in shown.text
        nameless = await a.follow(link, {"name": " ", "password": PASSWORD})
        assert nameless.status_code == 400 and "Tell us your name" in nameless.text
        accepted = await a.follow(link, {"name": "Cy", "password": PASSWORD})
        assert accepted.status_code == 303 and accepted.headers["location"] == "/"
        home = await a.client.get("/")
        assert "<h1>Cy</h1>" in home.text and "(confirmed)" in home.text
        cy = await a.member("cy@example.org")
        assert cy is not None and cy.email_verified_at == a.clock() and cy.name == "Cy"
        csrf = await a.csrf("/")
        reused = await a.client.post(
            "/invitation",
            data={"csrf": csrf, "token": link.split("token=")[1], "name": "Eve", "password": "eve's password"},
        )
        assert reused.status_code == 400 and (await a.member("cy@example.org")).name == "Cy"  # type: ignore[union-attr]

        again = await a.post("/admin/members/invite", {"email": "cy@example.org"}, page="/admin/members", client=admin)
        assert again.status_code == 400 and "is a member already" in again.text


async def test_role_changes_are_audited_and_the_last_admin_stays(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a, a.browser() as editor:
        ada = await a.add_member("ada@example.org", frozenset({"admin"}))
        bob = await a.add_member("bob@example.org", frozenset({"editor"}))
        await a.sign_in("ada@example.org")
        await a.sign_in("bob@example.org", client=editor)
        assert (await editor.get("/admin/members")).status_code == 403  # a member without the admin role
        refused = await editor.post(f"/admin/members/{ada.id}/roles", data={"csrf": await a.csrf("/", editor)})
        assert refused.status_code == 403 and await _roles(a, "ada@example.org") == ["admin"]

        given = await a.post(
            f"/admin/members/{bob.id}/roles", {"role": ["editor", "shop_staff"]}, page="/admin/members"
        )
        assert given.status_code == 303 and await _roles(a, "bob@example.org") == ["editor", "shop_staff"]
        assert await _audit(a) == [
            ("ada@example.org", "roles changed", "bob@example.org", "editor → editor shop_staff")
        ]
        assert "Sign in" in (await editor.get("/")).text  # Bob's session held his old roles: it has ended
        await a.sign_in("bob@example.org", client=editor)

        before = await row_counts(a.services.store)
        last = await a.post(f"/admin/members/{ada.id}/roles", {"role": ["editor"]}, page="/admin/members")
        assert last.status_code == 400 and "no admin" in last.text
        unknown = await a.post(f"/admin/members/{bob.id}/roles", {"role": ["king"]}, page="/admin/members")
        assert unknown.status_code == 400 and "no role called king" in unknown.text
        nobody = await a.post("/admin/members/no-such-member/roles", {"role": ["editor"]}, page="/admin/members")
        assert nobody.status_code == 400 and "no such member" in nobody.text
        assert await row_counts(a.services.store) == before and await _roles(a, "ada@example.org") == ["admin"]

        await a.post(f"/admin/members/{bob.id}/roles", {"role": ["admin"]}, page="/admin/members")
        handed_over = await a.post(f"/admin/members/{ada.id}/roles", {}, page="/admin/members")
        assert handed_over.status_code == 303 and await _roles(a, "ada@example.org") == []
        assert (await a.client.get("/admin/members")).status_code == 303  # her admin session has ended
        await a.sign_in("ada@example.org")
        assert (await a.client.get("/admin/members")).status_code == 403
        assert [entry[3] for entry in await _audit(a)][1:] == ["editor shop_staff → admin", "admin → no roles"]

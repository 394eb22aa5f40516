"""A forgotten password, reset by an emailed one-hour single-use link: using it ends every session of the member
and signs this browser in afresh; a reset for an address nobody has answers exactly as for one that exists.
Changing the password, and the address (confirmed by a link sent to the new one, the old one told)."""

from __future__ import annotations

from sqlalchemy import select

from actors.account import members
from store.models import WebSession
from tests.account.member_flows import PASSWORD, Account, account_service, body, link_in
from tests.support.app import row_counts
from tests.support.smtp import SmtpSink

NEW = "a brand new passphrase"


async def _sessions(a: Account, member_id: str) -> int:
    async with a.services.store.read() as db:
        return len(list(await db.scalars(select(WebSession).where(WebSession.member == member_id))))


async def test_reset_by_link_ends_every_session_and_signs_in_afresh(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a, a.browser() as phone, a.browser() as laptop:
        ada = await a.add_member("ada@example.org", frozenset({"editor"}))
        for browser in (phone, laptop):
            assert (await a.sign_in("ada@example.org", client=browser)).status_code == 303
        assert await _sessions(a, ada.id) == 2

        asked = await a.post("/reset", {"email": "ADA@example.org"}, page="/reset")
        assert asked.status_code == 200 and "If an account has the address" in asked.text
        [mail] = await a.mails(1)
        assert mail.envelope_to == ["ada@example.org"] and mail.message["Subject"] == "Reset your password"
        link = link_in(mail)
        assert (await a.client.get(link)).status_code == 200  # the page only: nothing changes yet
        assert await _sessions(a, ada.id) == 2

        short = await a.follow(link, {"password": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        done = await a.follow(link, {"password": NEW})
        assert done.status_code == 303 and done.headers["location"] == "/?done=password"
        assert await _sessions(a, ada.id) == 1  # this browser's new one; the phone's and laptop's have ended
        for browser in (phone, laptop):
            assert (
                "Sign in" in (await browser.get("/")).text
                and "Change your password" not in (await browser.get("/")).text
            )
        home = await a.client.get("/?done=password")
        assert "Your password is changed" in home.text and "ada@example.org" in home.text

        assert (await a.sign_in("ada@example.org", client=phone)).status_code == 403  # the old password
        assert (await a.sign_in("ada@example.org", NEW, client=phone)).status_code == 303
        before = await row_counts(a.services.store)
        csrf = await a.csrf("/")
        reused = await a.client.post(
            "/reset/new", data={"csrf": csrf, "token": link.split("token=")[1], "password": "yet another one!"}
        )
        assert reused.status_code == 400 and "not valid" in reused.text
        assert await row_counts(a.services.store) == before


async def test_a_reset_for_an_unknown_address_answers_as_for_a_member(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        await a.csrf("/reset")
        known = await a.post("/reset", {"email": "ada@example.org"}, page="/reset")
        unknown = await a.post("/reset", {"email": "bob@example.org"}, page="/reset")
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace("ada@", "bob@") == unknown.text
        assert dict(known.headers) == dict(unknown.headers) | {"content-length": known.headers["content-length"]}
        [mail] = await a.mails(1)
        assert mail.envelope_to == ["ada@example.org"]


async def test_a_reset_link_lasts_an_hour(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        await a.post("/reset", {"email": "ada@example.org"}, page="/reset")
        [mail] = await a.mails(1)
        a.clock.now += 3601
        expired = await a.client.get(link_in(mail))
        assert expired.status_code == 400 and "expired" in expired.text
        csrf = await a.csrf("/signin")
        token = link_in(mail).split("token=")[1]
        refused = await a.client.post("/reset/new", data={"csrf": csrf, "token": token, "password": NEW})
        assert refused.status_code == 400
        assert (await a.sign_in("ada@example.org")).status_code == 303  # the old password still works


async def test_change_password_and_address(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a, a.browser() as other:
        ada = await a.add_member("ada@example.org")
        await a.sign_in("ada@example.org")
        await a.sign_in("ada@example.org", client=other)

        wrong = await a.post("/password", {"current": "not my password", "password": NEW})
        assert wrong.status_code == 403 and "not your current password" in wrong.text
        changed = await a.post("/password", {"current": PASSWORD, "password": NEW})
        assert changed.status_code == 303 and await _sessions(a, ada.id) == 1  # the other browser signed out
        member = await a.member("ada@example.org")
        assert member is not None and members.password_matches(member, NEW)

        before = await row_counts(a.services.store)
        for form, sentence in (
            ({"email": "nonsense", "current": NEW}, "not an email address"),
            ({"email": "ada@example.org", "current": NEW}, "your address already"),
            ({"email": "ada@new.example", "current": PASSWORD}, "not your current password"),
        ):
            refused = await a.post("/email", form)
            assert refused.status_code in (400, 403) and sentence in refused.text
        assert await row_counts(a.services.store) == before

        asked = await a.post("/email", {"email": "Ada@New.Example", "current": NEW})
        assert asked.status_code == 303
        home = await a.client.get(asked.headers["location"])
        assert "Moving to <strong>ada@new.example</strong>" in home.text
        mails = {m.envelope_to[0]: m for m in await a.mails(2)}
        assert "ada@new.example" in body(mails["ada@example.org"].message)  # the old address is told
        assert (await a.member("ada@example.org")) is not None  # until confirmed the old address stays
        confirmed = await a.follow(link_in(mails["ada@new.example"]))
        assert confirmed.status_code == 200 and "now <strong>ada@new.example</strong>" in confirmed.text
        moved = await a.member("ada@new.example")
        assert moved is not None and moved.id == ada.id and moved.email_verified_at == a.clock()
        assert await a.member("ada@example.org") is None
        assert await _sessions(a, ada.id) == 0  # sessions held the old address
        assert (await a.sign_in("ada@new.example", NEW)).status_code == 303


async def test_moving_to_a_taken_address_tells_nobody_whose_it_is(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        await a.add_member("bob@example.org")
        await a.sign_in("ada@example.org")
        answer = await a.post("/email", {"email": "bob@example.org", "current": PASSWORD})
        assert answer.status_code == 303 and answer.headers["location"] == "/?done=email"
        mails = {m.envelope_to[0]: m.message["Subject"] for m in await a.mails(2)}
        assert mails == {
            "bob@example.org": "Someone tried to sign up with your address",
            "ada@example.org": "Your account's email address is being changed",
        }
        assert (await a.member("ada@example.org")) is not None and (await a.member("bob@example.org")) is not None

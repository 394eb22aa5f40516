"""Sign-up at the account service: a verification email through the mail queue and a real SMTP server, its
one-time link (only its digest stored) confirming the address; unverified members can sign in and are told to
verify; an address that has an account answers exactly as a new one; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from actors.account import links
from store.models import MemberLink
from tests.account.member_flows import PASSWORD, account_service, link_in, token_of
from tests.support.app import row_counts
from tests.support.smtp import SmtpSink


async def test_sign_up_verify_by_the_emailed_link_and_sign_in(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a:
        form = {"email": "Ada@Example.org", "name": "Ada", "password": PASSWORD}
        answer = await a.post("/signup", form, page="/signup")
        assert answer.status_code == 200 and "We sent an email to <strong>ada@example.org</strong>" in answer.text
        member = await a.member("ada@example.org")
        assert member is not None and member.email_verified_at is None and member.name == "Ada"
        [mail] = await a.mails(1)
        assert mail.envelope_to == ["ada@example.org"] and mail.message["Subject"] == "Confirm your email address"
        link = link_in(mail)
        secret = token_of(link)
        async with a.services.store.read() as db:
            [stored] = list(await db.scalars(select(MemberLink)))
        assert stored.id == links.digest(secret) and stored.purpose == "verify" and secret not in stored.id
        assert stored.expires_at == a.clock() + 48 * 3600

        # unverified: signing in works, and the front page asks to verify
        signed_in = await a.sign_in("ada@example.org")
        assert signed_in.status_code == 303
        home = await a.client.get("/")
        assert "verify your email" in home.text and "Send the link again" in home.text

        # following the link only shows a button (mail scanners prefetch links)
        shown = await a.client.get(link)
        assert shown.status_code == 200 and "ada@example.org" in shown.text
        assert (await a.member("ada@example.org")).email_verified_at is None  # type: ignore[union-attr]
        confirmed = await a.follow(link)
        assert confirmed.status_code == 200 and "is confirmed" in confirmed.text
        verified = await a.member("ada@example.org")
        assert verified is not None and verified.email_verified_at == a.clock()
        home = await a.client.get("/")
        assert "(confirmed)" in home.text and "verify your email" not in home.text

        before = await row_counts(a.services.store)
        again = await a.post("/verify", {"token": secret})
        assert again.status_code == 400 and "not valid" in again.text
        assert await row_counts(a.services.store) == before


async def test_signing_up_with_a_taken_address_answers_as_a_new_one_and_tells_its_owner(
    database_url: str, smtp_server: SmtpSink
) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        await a.csrf("/signup")  # the browser has its cookie before either request, so neither sets one
        taken = await a.post(
            "/signup", {"email": "ada@example.org", "name": "Eve", "password": "eve's own pw!"}, page="/signup"
        )
        free = await a.post(
            "/signup", {"email": "bob@example.org", "name": "Bob", "password": PASSWORD}, page="/signup"
        )
        assert taken.status_code == free.status_code == 200
        assert taken.text.replace("ada@", "bob@") == free.text
        assert dict(taken.headers) == dict(free.headers) | {"content-length": taken.headers["content-length"]}
        ada = await a.member("ada@example.org")
        assert ada is not None and ada.name == "Ada"  # nothing of the attempt is kept
        mails = {m.envelope_to[0]: m for m in await a.mails(2)}
        assert mails["ada@example.org"].message["Subject"] == "Someone tried to sign up with your address"
        assert "reset" in str(mails["ada@example.org"].message.get_body(("plain",)))
        assert mails["bob@example.org"].message["Subject"] == "Confirm your email address"


async def test_bad_sign_ups_are_refused_in_a_sentence_and_change_nothing(
    database_url: str, smtp_server: SmtpSink
) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.csrf("/signup")
        before = await row_counts(a.services.store)
        cases = [
            ({"email": "not an address", "name": "Ada", "password": PASSWORD}, "not an email address"),
            ({"email": "ada@localhost", "name": "Ada", "password": PASSWORD}, "not an email address"),
            ({"email": "ada@example.org", "name": "  ", "password": PASSWORD}, "Tell us your name"),
            ({"email": "ada@example.org", "name": "Ada", "password": "short"}, "at least 10 characters"),
            ({"email": "ada@example.org", "name": "Ada", "password": "x" * 2000}, "at most 1024"),
        ]
        for form, sentence in cases:
            answer = await a.post("/signup", form, page="/signup")
            assert answer.status_code == 400 and sentence in answer.text, form
        assert await row_counts(a.services.store) == before


async def test_an_expired_or_replaced_verification_link_does_nothing(database_url: str, smtp_server: SmtpSink) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.post("/signup", {"email": "ada@example.org", "name": "Ada", "password": PASSWORD}, page="/signup")
        [first] = await a.mails(1)
        await a.sign_in("ada@example.org")
        resent = await a.post("/verify/resend", {})
        assert resent.status_code == 303 and resent.headers["location"] == "/?done=verify"
        [_, second] = await a.mails(2)
        assert link_in(first) != link_in(second)
        replaced = await a.client.get(link_in(first))
        assert replaced.status_code == 400 and "replaced by a newer one" in replaced.text

        a.clock.now += 48 * 3600 + 1
        csrf = await a.csrf("/signin")
        expired = await a.client.post("/verify", data={"csrf": csrf, "token": token_of(link_in(second))})
        assert expired.status_code == 400 and "expired" in expired.text
        member = await a.member("ada@example.org")
        assert member is not None and member.email_verified_at is None

"""Sign-in throttling at the account service: per account with exponential backoff (a right password during a
lockout still does not sign in), the same for an address nobody has; per client address, which holds credential
stuffing across many accounts; overall."""

from __future__ import annotations

import httpx

from actors.account.throttle import SigninThrottle
from tests.account.member_flows import BASE, PASSWORD, account_service
from tests.support.app import row_counts
from tests.support.smtp import SmtpSink


async def test_an_account_is_locked_for_1_2_4_minutes_after_5_wrong_passwords(
    database_url: str, smtp_server: SmtpSink
) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        for _ in range(5):
            assert (await a.sign_in("ada@example.org", "wrong password")).status_code == 403
        for password in (PASSWORD, "wrong password"):
            locked = await a.sign_in("Ada@example.org", password)
            assert locked.status_code == 429 and "Try again in 1 minute," in locked.text
        assert (await row_counts(a.services.store))["web_sessions"] == 0  # no session opened

        a.clock.now += 61
        assert (await a.sign_in("ada@example.org", "wrong password")).status_code == 403
        locked = await a.sign_in("ada@example.org")
        assert locked.status_code == 429 and "Try again in 2 minutes" in locked.text
        a.clock.now += 121
        assert (await a.sign_in("ada@example.org", "wrong password")).status_code == 403
        assert "Try again in 4 minutes" in (await a.sign_in("ada@example.org")).text

        a.clock.now += 241
        assert (await a.sign_in("ada@example.org")).status_code == 303  # and the count starts again
        a.client.cookies.clear()  # another browser
        assert (await a.sign_in("ada@example.org", "wrong password")).status_code == 403
        assert (await a.sign_in("ada@example.org")).status_code == 303
        a.client.cookies.clear()

        for _ in range(5):  # an address nobody has is held the same way: the answer tells nobody who is a member
            await a.sign_in("nobody@example.org", "wrong password")
        assert "Try again in 1 minute," in (await a.sign_in("nobody@example.org")).text


async def test_one_client_trying_many_accounts_is_held_by_its_own_limit(
    database_url: str, smtp_server: SmtpSink
) -> None:
    async with account_service(database_url, smtp_server) as a:
        await a.add_member("ada@example.org")
        stuffer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=a.app, client=("203.0.113.9", 4000)), base_url=BASE
        )
        async with stuffer:
            for n in range(SigninThrottle.per_client):
                answer = await a.sign_in(f"victim{n}@example.org", "leaked password", client=stuffer)
                assert answer.status_code == 403
            held = await a.sign_in("ada@example.org", client=stuffer)
            assert held.status_code == 429 and "from your address" in held.text
        assert (await a.sign_in("ada@example.org")).status_code == 303  # another client is not held


def test_the_overall_limit_holds_many_clients_and_lapses() -> None:
    throttle = SigninThrottle(per_client=3, overall=10, window=600.0)
    for n in range(10):
        assert throttle.refusal(f"198.51.100.{n}", f"m{n}@example.org", 1000.0) is None
        throttle.failed(f"198.51.100.{n}", f"m{n}@example.org", 1000.0)
    assert throttle.refusal("192.0.2.1", "fresh@example.org", 1001.0) is not None
    assert throttle.refusal("192.0.2.1", "fresh@example.org", 1601.0) is None


def test_backoff_is_capped_and_a_success_forgets() -> None:
    throttle = SigninThrottle()
    for _ in range(40):
        throttle.failed("192.0.2.1", "ada@example.org", 0.0)
    assert throttle.locked_for("ada@example.org", 0.0) == throttle.longest_wait
    throttle.succeeded("ada@example.org")
    assert throttle.locked_for("ada@example.org", 0.0) == 0.0

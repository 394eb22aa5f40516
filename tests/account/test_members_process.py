"""A real `rose-ash serve --kind account` process on loopback, on both stores, sending through a real SMTP
server: sign up, follow the emailed verification link, sign in; the front page shows the confirmed address."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.account.member_flows import CSRF, LINK, PASSWORD, body
from tests.support.processes import PeerProcess
from tests.support.smtp import SmtpSink


def _csrf(http: httpx.Client, url: str) -> str:
    page = http.get(url)
    match = CSRF.search(page.text)
    assert page.status_code == 200 and match, (url, page.status_code)
    return match.group(1)


def test_sign_up_verify_and_sign_in_on_a_real_account_service(
    peer_process: Callable[..., PeerProcess], smtp_server: SmtpSink
) -> None:
    account = peer_process("account", env={"ROSE_ASH_SMTP_URL": smtp_server.url})
    with httpx.Client(trust_env=False, timeout=30.0, base_url=account.url) as http:
        form = {"csrf": _csrf(http, "/signup"), "email": "ada@example.org", "name": "Ada", "password": PASSWORD}
        answer = http.post("/signup", data=form)
        assert answer.status_code == 200 and "We sent an email" in answer.text, answer.text[:500]

        [mail] = smtp_server.wait_for(1)
        assert mail.envelope_to == ["ada@example.org"] and mail.message["Subject"] == "Confirm your email address"
        [link] = LINK.findall(body(mail.message))
        assert link.startswith(f"{account.url}/verify?token=")
        token = re.sub(r".*token=", "", link)
        confirmed = http.post("/verify", data={"csrf": _csrf(http, link), "token": token})
        assert confirmed.status_code == 200 and "is confirmed" in confirmed.text

        signed_in = http.post(
            "/signin", data={"csrf": _csrf(http, "/signin"), "email": "ada@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 303
        home = http.get("/")
        assert "<h1>Ada</h1>" in home.text and "(confirmed)" in home.text

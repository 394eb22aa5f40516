"""The one sign-in against an attacker, with real processes: codes are single use, bound to their client and
their PKCE verifier (a replayed code revokes what it gave), refresh tokens rotate (a reused one revokes the
chain), redirect URIs match exactly (anything else is a page, never a redirect), a client must hold its own
secret, a peer's callback checks its state and nonce, nothing redirects off-site, and a session set before
sign-in is not the one after."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from actors.account import tokens
from tests.account.oidc_world import EMAIL, PASSWORD, Browser, World, pkce, sign_in_on, start_world
from tests.support.databases import Databases, Peek
from tests.support.processes import PeerProcess


def signed_in_at_account(world: World) -> Browser:
    browser = Browser()
    form = browser.get(f"{world.account.url}/signin")
    answer = browser.post(f"{world.account.url}/signin", {"email": EMAIL, "password": PASSWORD, "next": "/"}, form)
    assert answer.status_code == 303
    return browser


def authorize(world: World, browser: Browser, client: str, **overrides: str) -> httpx.Response:
    verifier, challenge = pkce()
    query = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": f"{getattr(world, client).url}/auth/callback",
        "scope": "openid email profile roles",
        "state": "s-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    answer = browser.get(f"{world.account.url}/oauth/authorize?{urlencode(query)}")
    answer.extensions["verifier"] = verifier
    return answer


def code_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def token(world: World, client: str, secret: str | None = None, **form: str) -> httpx.Response:
    secret = world.secrets[client] if secret is None else secret
    return httpx.post(f"{world.account.url}/oauth/token", data=form, auth=(client, secret), trust_env=False)


def exchange(world: World, client: str, answer: httpx.Response, secret: str | None = None) -> httpx.Response:
    return token(
        world,
        client,
        secret,
        grant_type="authorization_code",
        code=code_of(answer),
        redirect_uri=f"{getattr(world, client).url}/auth/callback",
        code_verifier=answer.extensions["verifier"],
    )


def userinfo(world: World, access: str) -> httpx.Response:
    return httpx.get(
        f"{world.account.url}/oauth/userinfo", headers={"Authorization": f"Bearer {access}"}, trust_env=False
    )


def test_the_account_service_refuses_what_an_attacker_tries(
    processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]
) -> None:
    world = start_world(processes, databases, peek)
    browser = signed_in_at_account(world)
    try:
        discovery = httpx.get(f"{world.account.url}/.well-known/openid-configuration", trust_env=False).json()
        assert discovery["issuer"] == world.account.url and discovery["code_challenge_methods_supported"] == ["S256"]
        jwks = httpx.get(discovery["jwks_uri"], trust_env=False).json()
        assert [key["kty"] for key in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]

        # a redirect URI one character off, or an unknown client: a page, never a redirect
        for wrong in (
            {"redirect_uri": f"{world.blog.url}/auth/callbacK"},
            {"redirect_uri": f"{world.blog.url}/auth/callback/"},
            {"redirect_uri": "https://evil.example/auth/callback"},
            {"client_id": "mallory"},
        ):
            answer = authorize(world, browser, "blog", **wrong)
            assert answer.status_code == 400 and "location" not in answer.headers, wrong
            assert "was stopped" in answer.text

        # PKCE is required, and S256 only
        plain = authorize(world, browser, "blog", code_challenge_method="plain")
        assert "error=invalid_request" in plain.headers["location"]
        assert plain.headers["location"].startswith(f"{world.blog.url}/auth/callback?")
        missing = authorize(world, browser, "blog", code_challenge="", code_challenge_method="")
        assert "error=invalid_request" in missing.headers["location"]

        # the ID token says who signed in, for this client and this nonce
        answer = authorize(world, browser, "blog", nonce="the-nonce", state="the-state")
        assert parse_qs(urlsplit(answer.headers["location"]).query)["state"] == ["the-state"]
        issued = exchange(world, "blog", answer)
        assert issued.status_code == 200, issued.text
        given = issued.json()
        from joserfc import jwt
        from joserfc.jwk import KeySet

        claims = jwt.decode(given["id_token"], KeySet.import_key_set(jwks)).claims
        assert claims["iss"] == world.account.url and claims["aud"] == "blog" and claims["nonce"] == "the-nonce"
        assert claims["sub"] == world.member and claims["email"] == EMAIL and claims["roles"] == ["editor"]
        assert claims["sid"] and claims["auth_time"] and claims["email_verified"] is True
        assert given["expires_in"] == 600
        assert userinfo(world, given["access_token"]).json()["sub"] == world.member

        # a stolen code replayed: refused, and what the first exchange gave is revoked
        again = exchange(world, "blog", answer)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert userinfo(world, given["access_token"]).status_code == 401
        refresh = token(world, "blog", grant_type="refresh_token", refresh_token=given["refresh_token"])
        assert refresh.status_code == 400

        # a code issued for the blog is not the events peer's, whatever its own secret
        answer = authorize(world, browser, "blog")
        crossed = token(
            world,
            "events",
            grant_type="authorization_code",
            code=code_of(answer),
            redirect_uri=f"{world.blog.url}/auth/callback",
            code_verifier=answer.extensions["verifier"],
        )
        assert crossed.status_code == 400 and crossed.json()["error"] == "invalid_grant"

        # a wrong client secret, or a wrong verifier
        answer = authorize(world, browser, "blog")
        wrong_secret = exchange(world, "blog", answer, secret="x" * 48)
        assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
        answer.extensions["verifier"] = pkce()[0]
        assert exchange(world, "blog", answer).json()["error"] == "invalid_grant"

        # a refresh token reused after rotation revokes the whole chain
        first = exchange(world, "blog", authorize(world, browser, "blog")).json()
        second = token(world, "blog", grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert second.status_code == 200, second.text
        rotated = second.json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert userinfo(world, rotated["access_token"]).status_code == 200
        reused = token(world, "blog", grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert reused.status_code == 400
        latest = token(world, "blog", grant_type="refresh_token", refresh_token=rotated["refresh_token"])
        assert latest.status_code == 400, "the thief's rotation is revoked with the chain"
        assert userinfo(world, rotated["access_token"]).status_code == 401
        # and the events peer cannot refresh the blog's tokens
        fresh = exchange(world, "blog", authorize(world, browser, "blog")).json()
        stolen = token(world, "events", grant_type="refresh_token", refresh_token=fresh["refresh_token"])
        assert stolen.status_code == 400

        # prompt=none for a browser not signed in answers login_required to the client
        stranger = Browser()
        silent = authorize(world, stranger, "events", prompt="none", state="quiet")
        query = parse_qs(urlsplit(silent.headers["location"]).query)
        assert silent.headers["location"].startswith(f"{world.events.url}/auth/callback?")
        assert query["error"] == ["login_required"] and query["state"] == ["quiet"]
        # without prompt=none they are sent to sign in, and brought back to the same request
        loud = authorize(world, stranger, "events")
        assert urlsplit(loud.headers["location"]).path == "/signin"
        assert parse_qs(urlsplit(loud.headers["location"]).query)["next"][0].startswith("/oauth/authorize?")
        stranger.close()

        # signing out goes back only to a client's own address
        evil = browser.get(f"{world.account.url}/oauth/logout?post_logout_redirect_uri=https://evil.example/")
        assert evil.status_code == 400 and "location" not in evil.headers
        # without an ID token of this session, the member is asked first (no other site can sign them out)
        asked = browser.get(f"{world.account.url}/oauth/logout?post_logout_redirect_uri={world.blog.url}/")
        assert asked.status_code == 200 and "Sign out everywhere?" in asked.text
        assert 'action="/oauth/logout"' in asked.text, "the account's own sign-out button signs out everywhere"
        # the account's sign-in form follows only same-site next=
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            fresh_browser = Browser()
            form = fresh_browser.get(f"{world.account.url}/signin?next={target}")
            sent = fresh_browser.post(
                f"{world.account.url}/signin", {"email": EMAIL, "password": PASSWORD, "next": target}, form
            )
            assert sent.headers["location"] == "/", target
            fresh_browser.close()

        # confirmed, the member's sessions end at the account and its tokens stop working
        live = exchange(world, "events", authorize(world, browser, "events")).json()
        done = browser.post(f"{world.account.url}/oauth/logout", {}, asked)
        assert done.status_code == 200 and "You are signed out" in done.text
        assert world.sessions_of("account", world.member) == []
        assert userinfo(world, live["access_token"]).status_code == 401
    finally:
        browser.close()


def callback_of(world: World, browser: Browser, peer: PeerProcess) -> tuple[dict[str, Any], str]:
    """Start signing in on a peer (already signed in at the account): the authorize query and its callback URL."""
    login = browser.get(f"{peer.url}/login")
    started = browser.post(f"{peer.url}/auth/signin", {"next": "/"}, login)
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
    return query, started.headers["location"]


def test_a_peer_refuses_forged_callbacks_and_fixed_sessions(
    processes: Callable[..., PeerProcess], databases: Databases, peek: Callable[[str], Peek]
) -> None:
    world = start_world(processes, databases, peek)
    browser = signed_in_at_account(world)
    try:
        # state mismatch: the callback is refused, nobody is signed in
        _, url = callback_of(world, browser, world.blog)
        back = browser.get(url)
        callback = back.headers["location"]
        forged = callback.replace("state=", "state=x")
        refused = browser.get(forged)
        assert refused.status_code == 400 and "start again" in refused.text
        assert world.sessions_of("blog", world.member) == []

        # nonce mismatch: a code for the same PKCE challenge but another nonce is refused after the exchange
        query, _ = callback_of(world, browser, world.blog)
        query["nonce"] = "someone-elses-nonce"
        code_answer = browser.get(f"{world.account.url}/oauth/authorize?{urlencode(query)}")
        refused = browser.get(code_answer.headers["location"])
        assert refused.status_code == 400 and "not meant for this sign-in" in refused.text
        assert world.sessions_of("blog", world.member) == []

        # a callback from another browser (an attacker's code in the victim's browser) is refused
        _, url = callback_of(world, browser, world.blog)
        attackers_callback = browser.get(url).headers["location"]
        victim = Browser()
        victim.get(f"{world.blog.url}/login")
        assert victim.get(attackers_callback).status_code == 400
        victim.close()

        # a forged back-channel logout token is refused and ends nothing
        forged_logout = httpx.post(
            f"{world.blog.url}/auth/backchannel-logout", data={"logout_token": "e30.e30.sig"}, trust_env=False
        )
        assert forged_logout.status_code == 400

        # session fixation: a session id planted before sign-in is not the one after
        planted = Browser()
        planted.get(f"{world.events.url}/login")
        fixed = planted.cookie("rose_ash_events")
        assert fixed.startswith("a.")
        victim = Browser()
        victim.client.cookies.set("rose_ash_events", fixed, domain="127.0.0.1")
        home = sign_in_on(world, victim, world.events, back="/calendars")
        assert home.status_code == 200 and str(home.url) == f"{world.events.url}/calendars"
        after = victim.cookie("rose_ash_events")
        assert after.startswith("s.") and after != fixed
        [session] = world.sessions_of("events", world.member)
        assert session["sid"] != fixed.split(".")[1]
        attacker_view = planted.get(f"{world.events.url}/login")
        assert EMAIL not in attacker_view.text, "the planted cookie is still only a visitor's"
        planted.close()

        # a session whose tokens the account service revoked (a back-channel logout missed) ends at its refresh
        async def revoke(store: Any) -> None:
            async with store.write() as db:
                await db.run_sync(lambda s: tokens.revoke_member(s, world.member, 2.0))

        world.stores["account"](revoke)
        world.age_sessions("events")
        assert len(world.sessions_of("events", world.member)) == 1
        victim.get(f"{world.events.url}/calendars")
        assert world.sessions_of("events", world.member) == []

        # open redirects: next= off-site is sent home, on the peers and at the account
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            login = victim.get(f"{world.blog.url}/login")
            started = victim.post(f"{world.blog.url}/auth/signin", {"next": target}, login)
            landed = victim.follow(started)
            assert str(landed.url) == f"{world.blog.url}/", target
        victim.close()
    finally:
        browser.close()

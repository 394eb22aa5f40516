"""Incoming HTTP signatures: draft-cavage (rsa-sha256, hs2019) and RFC 9421, the tampering each one must
catch, the freshness window, key rotation, and the two bovine bugs DESIGN.md names."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from bovine.crypto.signature_checker import SignatureChecker
from bovine.crypto.types import CryptographicIdentifier

import inbox.signatures
from activities.httpsig import digest_header, http_date, parse_signature_header, rsa_sign, signing_string
from activities.parse import parse_activity
from inbox.directory import Directory, PublicKey
from inbox.errors import FetchError, Forbidden, Unauthorized
from inbox.remote import AddressGuard, RemoteFetcher
from inbox.signatures import CLOCK_SKEW, MAX_AGE, Scheme, SignedRequest, verify
from inbox.trust import check_sender
from store import Store
from tests.support.actors import RemoteActor, key_pair

INBOX = "http://peer.test:8002/actor/inbox"
FEDIFY_COMPONENTS = ("@method", "@target-uri", "@authority", "host", "date", "content-digest")


class Keys:
    """An in-memory key lookup that records each call (and whether it asked for a refresh)."""

    def __init__(self, *actors: RemoteActor) -> None:
        self.keys = {a.key_id: a.public_key for a in actors}
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, *, refresh: bool = False) -> PublicKey:
        self.calls.append((key_id, refresh))
        if key_id not in self.keys:
            raise FetchError(key_id, "HTTP 404")
        return self.keys[key_id]


def request(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> SignedRequest:
    parts = urlsplit(url)
    return SignedRequest(method, url, parts.path, parts.query, {k.lower(): v for k, v in headers.items()}, body)


def body_of(actor: RemoteActor) -> bytes:
    return json.dumps(actor.activity("Follow", "http://peer.test:8002/actor")).encode()


@pytest.fixture
def alice(remote_actor: Callable[..., RemoteActor]) -> RemoteActor:
    return remote_actor("alice")


@pytest.fixture
def mallory(remote_actor: Callable[..., RemoteActor]) -> RemoteActor:
    return remote_actor("mallory")


# accepted


async def test_cavage_rsa_sha256_post_verifies(alice: RemoteActor) -> None:
    body = body_of(alice)
    headers = alice.cavage_headers("POST", INBOX, body)
    assert 'algorithm="rsa-sha256"' in headers["signature"]
    verified = await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())
    assert (verified.key_id, verified.owner, verified.scheme) == (alice.key_id, alice.id, Scheme.CAVAGE)


async def test_cavage_hs2019_post_verifies(alice: RemoteActor) -> None:
    body = body_of(alice)
    headers = alice.cavage_headers("POST", INBOX, body, algorithm="hs2019")
    verified = await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())
    assert verified.owner == alice.id


async def test_cavage_hs2019_with_created_instead_of_date(alice: RemoteActor) -> None:
    body = body_of(alice)
    created = int(time.time())
    fields = ("(request-target)", "(created)", "host", "digest")
    headers = {"host": "peer.test:8002", "digest": digest_header(body)}
    message = signing_string(fields, method="POST", path="/actor/inbox", query="", headers=headers, created=created)
    signature = base64.b64encode(rsa_sign(alice.key.private_key, message.encode())).decode()
    headers["signature"] = (
        f'keyId="{alice.key_id}",algorithm="hs2019",created={created},headers="{" ".join(fields)}",'
        f'signature="{signature}"'
    )
    assert (await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())).owner == alice.id
    with pytest.raises(Unauthorized, match="too old"):
        await verify(request("POST", INBOX, headers, body), Keys(alice), created + MAX_AGE + CLOCK_SKEW + 60)


async def test_cavage_signed_get_verifies(alice: RemoteActor) -> None:
    url = "http://peer.test:8002/orders/7?token=abc"
    headers = alice.signer.headers_for("GET", url, None, time.time())
    verified = await verify(request("GET", url, headers), Keys(alice), time.time())
    assert verified.owner == alice.id


async def test_rfc9421_post_verifies(alice: RemoteActor) -> None:
    body = body_of(alice)
    headers = alice.rfc9421_headers("POST", INBOX, body)  # @method @target-uri content-digest; created
    assert '("@method" "@target-uri" "content-digest")' in headers["signature-input"]
    assert 'alg="rsa-v1_5-sha256"' in headers["signature-input"]
    verified = await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())
    assert (verified.owner, verified.scheme) == (alice.id, Scheme.RFC9421)


async def test_rfc9421_as_fedify_signs_verifies(alice: RemoteActor) -> None:
    body = body_of(alice)
    headers = alice.rfc9421_headers("POST", INBOX, body, components=FEDIFY_COMPONENTS)
    verified = await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())
    assert verified.scheme is Scheme.RFC9421


async def test_rfc9421_signed_get_verifies(alice: RemoteActor) -> None:
    url = "http://peer.test:8002/orders/7"
    headers = alice.rfc9421_headers("GET", url, None, components=("@method", "@target-uri"))
    assert (await verify(request("GET", url, headers), Keys(alice), time.time())).owner == alice.id


# refused


async def test_unsigned_request_is_refused(alice: RemoteActor) -> None:
    with pytest.raises(Unauthorized, match="not signed"):
        await verify(request("POST", INBOX, {"host": "peer.test:8002"}, b"{}"), Keys(alice), time.time())


def tampered(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


async def test_cavage_tampering_is_refused(alice: RemoteActor, mallory: RemoteActor) -> None:
    body = body_of(alice)
    now = time.time()
    good = alice.cavage_headers("POST", INBOX, body, now=now)
    keys = Keys(alice, mallory)
    forged_body = body.replace(b"Follow", b"Block!")
    cases: list[tuple[str, str, dict[str, str], bytes, str]] = [
        ("body changed", "POST", good, forged_body, "Digest does not match"),
        ("body and digest changed", "POST", tampered(good, digest=digest_header(forged_body)), forged_body, "verify"),
        ("date changed", "POST", tampered(good, date=http_date(now + 1)), body, "verify"),
        ("host changed", "POST", tampered(good, host="other.test"), body, "signed host is not this server"),
        ("content-type changed", "POST", tampered(good, **{"content-type": "text/plain"}), body, "verify"),
        ("date removed", "POST", tampered(good, date=None), body, "date"),
        ("digest removed", "POST", tampered(good, digest=None), body, "digest"),
        ("host removed", "POST", tampered(good, host=None), body, "host"),
        ("method changed", "PUT", good, body, "verify"),
    ]
    for what, method, headers, sent_body, reason in cases:
        try:
            await verify(request(method, INBOX, headers, sent_body), keys, now)
        except Unauthorized as exc:
            assert re.search(reason, exc.reason, re.IGNORECASE), (what, exc.reason)
        else:
            pytest.fail(f"{what}: the tampered request was accepted")
    # a different path, or a query added, is a different (request-target)
    for url in ("http://peer.test:8002/inbox", INBOX + "?x=1"):
        with pytest.raises(Unauthorized, match="verify"):
            await verify(request("POST", url, good, body), keys, now)


async def test_signature_must_cover_what_mastodon_requires(alice: RemoteActor) -> None:
    body = body_of(alice)
    for fields, reason in [
        (("host", "date", "digest"), r"\(request-target\)"),
        (("(request-target)", "date", "digest"), "host"),
        (("(request-target)", "host", "date"), "digest"),
        (("(request-target)", "host", "digest"), "date or"),
    ]:
        headers = alice.cavage_headers("POST", INBOX, body, fields=fields)
        with pytest.raises(Unauthorized, match=reason):
            await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())


async def test_wrong_key_id_is_refused(alice: RemoteActor, mallory: RemoteActor) -> None:
    body = body_of(alice)
    # signed with alice's key, claiming mallory's key id
    headers = alice.cavage_headers("POST", INBOX, body, key_id=mallory.key_id)
    keys = Keys(alice, mallory)
    with pytest.raises(Unauthorized, match="does not verify"):
        await verify(request("POST", INBOX, headers, body), keys, time.time())
    # signed with mallory's key, claiming alice's key id
    headers = alice.cavage_headers("POST", INBOX, body, key=mallory.key.private_key)
    with pytest.raises(Unauthorized, match="does not verify"):
        await verify(request("POST", INBOX, headers, body), keys, time.time())
    # a key id nobody serves
    headers = alice.cavage_headers("POST", INBOX, body, key_id=alice.id + "#no-such-key")
    with pytest.raises(Unauthorized, match="cannot fetch key"):
        await verify(request("POST", INBOX, headers, body), keys, time.time())


async def test_freshness_window_is_12_hours_plus_1_hour_skew(alice: RemoteActor) -> None:
    body = body_of(alice)
    now = time.time()
    keys = Keys(alice)

    async def at(sent: float) -> Any:
        return await verify(
            request("POST", INBOX, alice.cavage_headers("POST", INBOX, body, now=sent), body), keys, now
        )

    assert (await at(now - MAX_AGE - CLOCK_SKEW + 60)).owner == alice.id  # 12 h 59 min old
    assert (await at(now + CLOCK_SKEW - 60)).owner == alice.id  # 59 min ahead
    with pytest.raises(Unauthorized, match="too old"):
        await at(now - MAX_AGE - CLOCK_SKEW - 60)
    with pytest.raises(Unauthorized, match="future"):
        await at(now + CLOCK_SKEW + 60)
    assert MAX_AGE == 12 * 3600 and CLOCK_SKEW == 3600


async def test_malformed_date_is_refused(alice: RemoteActor) -> None:
    body = body_of(alice)
    headers = tampered(alice.cavage_headers("POST", INBOX, body), date="yesterday-ish")
    with pytest.raises(Unauthorized, match="Date header is malformed"):
        await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())


async def test_rfc9421_tampering_is_refused(alice: RemoteActor, mallory: RemoteActor) -> None:
    body = body_of(alice)
    keys = Keys(alice, mallory)
    good = alice.rfc9421_headers("POST", INBOX, body)
    forged = body.replace(b"Follow", b"Block!")
    with pytest.raises(Unauthorized, match="Content-Digest"):
        await verify(request("POST", INBOX, good, forged), keys, time.time())
    with pytest.raises(Unauthorized):
        await verify(request("POST", "http://peer.test:8002/inbox", good, body), keys, time.time())
    with pytest.raises(Unauthorized):
        await verify(request("PUT", INBOX, good, body), keys, time.time())
    stale = alice.rfc9421_headers("POST", INBOX, body, created=time.time() - MAX_AGE - CLOCK_SKEW - 60)
    with pytest.raises(Unauthorized, match="too old"):
        await verify(request("POST", INBOX, stale, body), keys, time.time())
    future = alice.rfc9421_headers("POST", INBOX, body, created=time.time() + CLOCK_SKEW + 60)
    with pytest.raises(Unauthorized, match="future"):
        await verify(request("POST", INBOX, future, body), keys, time.time())
    wrong_key = alice.rfc9421_headers("POST", INBOX, body, key_id=mallory.key_id)
    with pytest.raises(Unauthorized, match="does not verify"):
        await verify(request("POST", INBOX, wrong_key, body), keys, time.time())
    uncovered = alice.rfc9421_headers("POST", INBOX, body, components=("@method", "content-digest"))
    with pytest.raises(Unauthorized):
        await verify(request("POST", INBOX, uncovered, body), keys, time.time())
    for garbage, reason in [
        ("sig1=", "malformed"),
        ("not a dictionary (", "malformed"),
        ('a=("@method");keyid="k";created=1, b=("@method");keyid="k";created=1', "exactly one"),
        ('sig1=("@method" "@target-uri" "content-digest");alg="rsa-v1_5-sha256"', "keyid and created"),
    ]:
        with pytest.raises(Unauthorized, match=reason):
            await verify(
                request("POST", INBOX, tampered(good, **{"signature-input": garbage}), body), keys, time.time()
            )


async def test_key_owner_must_be_the_activity_actor(alice: RemoteActor, mallory: RemoteActor) -> None:
    """A valid signature by mallory on an activity claiming alice as its actor passes `verify` (the key is
    mallory's) and is refused by the trust rule."""
    doc = alice.activity("Follow", "http://peer.test:8002/actor")
    body = json.dumps(doc).encode()
    verified = await verify(
        request("POST", INBOX, mallory.cavage_headers("POST", INBOX, body), body), Keys(alice, mallory), time.time()
    )
    assert verified.owner == mallory.id
    with pytest.raises(Forbidden, match="owner"):
        check_sender(parse_activity(doc), verified)
    # and the activity id must be on the actor's host
    foreign = dict(doc, id=mallory.new_id())
    with pytest.raises(Forbidden, match="host"):
        check_sender(parse_activity(foreign), verify_result_for(alice))


def verify_result_for(actor: RemoteActor) -> inbox.signatures.Verified:
    return inbox.signatures.Verified(actor.key_id, actor.id, Scheme.CAVAGE)


# key rotation, through the real directory (store cache + signed fetch over HTTP)


async def test_a_rotated_key_is_refetched_exactly_once(store: Store, alice: RemoteActor) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        directory = Directory(
            store, RemoteFetcher(client, AddressGuard(allow_private=True), time.time), refetch_interval=0
        )
        actor_path = urlsplit(alice.id).path

        async def check(expect_fetches: int, *, key_of: RemoteActor = alice) -> None:
            body = body_of(alice)
            headers = key_of.cavage_headers("POST", INBOX, body)
            verified = await verify(request("POST", INBOX, headers, body), directory.key, time.time())
            assert verified.owner == alice.id
            assert len(alice.server.gets(actor_path)) == expect_fetches

        await check(1)  # first sight: fetched
        await check(1)  # cached
        alice.rotate(key_pair(7))
        await check(2)  # the cached key fails: one re-fetch, then it verifies
        await check(2)  # the new key is cached now
        # a fresh directory (a restarted peer) finds the new key in the store without fetching
        restarted = Directory(store, RemoteFetcher(client, AddressGuard(allow_private=True), time.time))
        body = body_of(alice)
        headers = alice.cavage_headers("POST", INBOX, body)
        assert (await verify(request("POST", INBOX, headers, body), restarted.key, time.time())).owner == alice.id
        assert len(alice.server.gets(actor_path)) == 2

        # a signature that no key verifies costs exactly one re-fetch, then is refused
        headers = alice.cavage_headers("POST", INBOX, body, key=key_pair(6).private_key)
        with pytest.raises(Unauthorized, match="does not verify"):
            await verify(request("POST", INBOX, headers, body), directory.key, time.time())
        assert len(alice.server.gets(actor_path)) == 3


async def test_a_burst_of_bad_signatures_refetches_the_key_at_most_once(store: Store, alice: RemoteActor) -> None:
    """An attacker replaying a known keyId with garbage signatures must not turn our inbox into a fetcher."""
    async with httpx.AsyncClient(trust_env=False) as client:
        directory = Directory(store, RemoteFetcher(client, AddressGuard(allow_private=True), time.time))
        actor_path = urlsplit(alice.id).path
        body = body_of(alice)
        good = alice.cavage_headers("POST", INBOX, body)
        assert (await verify(request("POST", INBOX, good, body), directory.key, time.time())).owner == alice.id
        assert len(alice.server.gets(actor_path)) == 1
        for _ in range(20):
            forged = alice.cavage_headers("POST", INBOX, body, key=key_pair(6).private_key)
            with pytest.raises(Unauthorized, match="does not verify"):
                await verify(request("POST", INBOX, forged, body), directory.key, time.time())
        assert len(alice.server.gets(actor_path)) == 1  # fetched within the interval: no re-fetch at all


async def test_rfc9421_rotated_key_is_refetched_once(alice: RemoteActor) -> None:
    keys = Keys(alice)
    stale = alice.public_key
    alice.rotate(key_pair(7))
    keys.keys[alice.key_id] = stale

    async def lookup(key_id: str, *, refresh: bool = False) -> PublicKey:
        await keys(key_id, refresh=refresh)
        return alice.public_key if refresh else stale

    body = body_of(alice)
    headers = alice.rfc9421_headers("POST", INBOX, body)
    assert (await verify(request("POST", INBOX, headers, body), lookup, time.time())).owner == alice.id
    assert keys.calls == [(alice.key_id, False), (alice.key_id, True)]


# the bovine bugs DESIGN.md names


async def test_bovine_bug_a_query_string_in_request_target(alice: RemoteActor) -> None:
    """bovine 0.5.19 builds `(request-target)` from the path alone, so a correctly signed request to a URL
    with a query never verifies there. Ours includes the query and verifies."""
    url = "http://peer.test:8002/actor/inbox?shard=2"
    body = body_of(alice)
    headers = alice.cavage_headers("POST", url, body)
    fields = parse_signature_header(headers["signature"]).headers

    bovine_message = (
        SignatureChecker(None)  # type: ignore[arg-type]
        .build_http_signature(fields, "POST", url, None, headers)
        .build_message()
    )
    our_message = signing_string(fields, method="POST", path="/actor/inbox", query="shard=2", headers=headers)
    assert bovine_message.splitlines()[0] == "(request-target): post /actor/inbox"
    assert our_message.splitlines()[0] == "(request-target): post /actor/inbox?shard=2"
    assert bovine_message.splitlines()[1:] == our_message.splitlines()[1:]

    async def bovine_keys(_key_id: str) -> CryptographicIdentifier:
        return CryptographicIdentifier.from_pem(alice.key.public_pem, alice.id)

    async def get_body() -> bytes:
        return body

    assert await SignatureChecker(bovine_keys).validate_signature("post", url, dict(headers), get_body) is None
    verified = await verify(request("POST", url, headers, body), Keys(alice), time.time())
    assert verified.owner == alice.id


async def test_bovine_bug_b_rfc9421_goes_to_http_message_signatures(
    alice: RemoteActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bovine 0.5.19's SignatureChecker crashes on `Signature-Input` with current http-sf; ours hands RFC 9421
    to `http-message-signatures` and never calls bovine's checker."""
    body = body_of(alice)
    headers = alice.rfc9421_headers("POST", INBOX, body)

    async def bovine_keys(_key_id: str) -> CryptographicIdentifier:
        return CryptographicIdentifier.from_pem(alice.key.public_pem, alice.id)

    async def get_body() -> bytes:
        return body

    with pytest.raises(Exception) as crashed:  # any crash will do: it must not verify
        await SignatureChecker(bovine_keys, skip_digest_check=True).validate_signature(
            "post", INBOX, dict(headers), get_body
        )
    assert isinstance(crashed.value, (AttributeError, TypeError, ValueError))

    def must_not_be_called(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("bovine's SignatureChecker was used")

    monkeypatch.setattr(SignatureChecker, "validate_signature", must_not_be_called)
    monkeypatch.setattr(SignatureChecker, "handle_rfc9421_signature", must_not_be_called)
    verified = await verify(request("POST", INBOX, headers, body), Keys(alice), time.time())
    assert (verified.owner, verified.scheme) == (alice.id, Scheme.RFC9421)

"""Check, from the receiving side, that a POST a peer made is signed by that peer's key."""

from __future__ import annotations

import time

import httpx

from activities.httpsig import load_public_key
from inbox.directory import PublicKey
from inbox.signatures import SignedRequest, Verified, verify
from tests.support.databases import run_sync
from tests.support.httpserver import FakeServer, Recorded


def actor_key(actor_id: str) -> PublicKey:
    """A peer's public key, read from its actor document as any remote server would."""
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        doc = client.get(actor_id, headers={"accept": "application/activity+json"}).json()
    key = doc["publicKey"]
    assert key["owner"] == actor_id
    return PublicKey(key["id"], actor_id, load_public_key(key["publicKeyPem"]))


async def verify_post_async(server: FakeServer, record: Recorded, key: PublicKey) -> Verified:
    """Verify a recorded POST the way our inbox would (raises inbox.errors.Unauthorized)."""

    async def lookup(key_id: str, *, refresh: bool = False) -> PublicKey:
        assert key_id == key.key_id, f"signed with {key_id}, expected {key.key_id}"
        return key

    signed = SignedRequest(
        method=record.method,
        url=server.url(record.path) + (f"?{record.query}" if record.query else ""),
        path=record.path,
        query=record.query,
        headers=record.headers,
        body=record.body,
    )
    return await verify(signed, lookup, time.time())


def verify_post(server: FakeServer, record: Recorded, key: PublicKey) -> Verified:
    return run_sync(verify_post_async(server, record, key))

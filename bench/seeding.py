"""What a run puts in front of the peers: remote actors with keys, pre-signed inbox requests, followers and a big
collection copied straight into a peer's database, and the C2S activities it posts."""

from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.events import event_activity

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

ActorKey = tuple[str, str, str]  # (actor id, key id, private key PEM)


def bench_event(name: str) -> dict[str, Any]:
    """A Create(Event) whose capacity no benchmark runs out of."""
    return {"@context": AS_CONTEXT, **event_activity(name, capacity=100_000)}


def make_actors(sink_port: int, n: int) -> tuple[dict[str, dict[str, Any]], list[ActorKey]]:
    """n remote actors served by the sink: their documents, and (actor id, key id, private PEM) for signing."""
    docs: dict[str, dict[str, Any]] = {}
    keys: list[ActorKey] = []
    for i in range(n):
        name = f"a{i}"
        actor = f"http://127.0.0.1:{sink_port}/users/{name}"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        docs[name] = {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "endpoints": {"sharedInbox": f"http://127.0.0.1:{sink_port}/inbox"},
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem.decode()},
        }
        keys.append((actor, f"{actor}#main-key", private_pem.decode()))
    return docs, keys


def _sign_chunk(args: tuple[list[ActorKey], str, str, int, int]) -> list[bytes]:
    """Pre-sign Create(Note) POSTs i in [start, stop): round-robin over the actors, each with a distinct id."""
    from activities.httpsig import RequestSigner, load_private_key

    keys, inbox_url, run, start, stop = args
    signers = [(actor, RequestSigner(key_id, load_private_key(pem))) for actor, key_id, pem in keys]
    path = "/" + inbox_url.split("/", 3)[3]
    now = time.time()
    out = []
    for i in range(start, stop):
        actor, signer = signers[i % len(signers)]
        note = f"{actor}/notes/{run}-{i}"
        body = json.dumps(
            {
                "@context": AS_CONTEXT,
                "id": f"{actor}/activities/{run}-{i}",
                "type": "Create",
                "actor": actor,
                "to": [PUBLIC],
                "cc": [f"{actor}/followers"],
                "object": {
                    "id": note,
                    "type": "Note",
                    "attributedTo": actor,
                    "content": f"<p>Benchmark note {i}: nothing to see here, just a few words of text.</p>",
                    "to": [PUBLIC],
                    "published": "2027-01-01T00:00:00Z",
                },
            },
            separators=(",", ":"),
        ).encode()
        headers = signer.headers_for("POST", inbox_url, body, now)
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out.append(head.encode() + f"content-length: {len(body)}\r\n\r\n".encode() + body)
    return out


def presign(keys: list[ActorKey], inbox_url: str, count: int, workers: int) -> list[bytes]:
    run = base64.urlsafe_b64encode(os.urandom(6)).decode()
    step = max(1, count // (workers * 4))
    chunks = [(keys, inbox_url, run, start, min(count, start + step)) for start in range(0, count, step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [req for part in pool.map(_sign_chunk, chunks) for req in part]


async def seed_followers(dsn: str, followers_of: str, sink_ports: list[int], n: int, inboxes: int) -> int:
    """n followers of `followers_of`, on `inboxes` distinct shared inboxes spread over the sink ports."""
    actors, items = [], []
    now = time.time()
    for i in range(n):
        group = i % inboxes
        port = sink_ports[group % len(sink_ports)]
        actor = f"http://127.0.0.1:{port}/g{group}/users/f{i}"
        shared = f"http://127.0.0.1:{port}/g{group}/inbox"
        doc = {"id": actor, "type": "Person", "inbox": f"{actor}/inbox", "endpoints": {"sharedInbox": shared}}
        actors.append((actor, f"{actor}/inbox", shared, json.dumps(doc), now))
        items.append((followers_of, actor, None, now))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "remote_actors", records=actors, columns=["id", "inbox", "shared_inbox", "data", "fetched_at"]
        )
        await copy_collection_items(conn, followers_of, items)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return min(n, inboxes)


async def copy_collection_items(conn: asyncpg.Connection, collection: str, records: list[tuple[Any, ...]]) -> None:
    """Items copied in behind the store's back, and the size the store would have kept for them (a checkout from
    before sizes were kept, measured with --code, has no such table)."""
    await conn.copy_records_to_table(
        "collection_items", records=records, columns=["collection", "item", "data", "created_at"]
    )
    if not await conn.fetchval("SELECT to_regclass('collection_sizes') IS NOT NULL"):
        return
    await conn.execute(
        "INSERT INTO collection_sizes (collection, size) SELECT $1::varchar, count(*) FROM collection_items"
        " WHERE collection = $1::varchar ON CONFLICT (collection) DO UPDATE SET size = excluded.size",
        collection,
    )


async def seed_collection(dsn: str, collection: str, n: int) -> None:
    now = time.time()
    records = [(collection, f"https://remote.example/users/u{i}", None, now) for i in range(n)]
    conn = await asyncpg.connect(dsn)
    try:
        await copy_collection_items(conn, collection, records)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()

"""The actor's RSA-2048 key pair: made on first start, kept in the store."""

from __future__ import annotations

from activities.httpsig import RequestSigner, load_private_key
from activities.identity import LocalActor
from activities.keys import new_key_pair
from store.db import Store
from store.models import ActorKey
from store.upsert import insert_ignore


async def ensure_key_pair(store: Store, actor: LocalActor) -> RequestSigner:
    async with store.read() as session:
        row = await session.get(ActorKey, actor.name)
    if row is None:
        public_pem, private_pem = new_key_pair()
        async with store.write() as session:
            await insert_ignore(
                session,
                ActorKey,
                {
                    "actor": actor.name,
                    "public_pem": public_pem,
                    "private_pem": private_pem,
                    "created_at": store.clock(),
                },
                ("actor",),
            )
        async with store.read() as session:
            row = await session.get(ActorKey, actor.name)
    assert row is not None
    return RequestSigner(actor.key_id, load_private_key(row.private_pem))


async def public_key_pem(store: Store, actor: LocalActor) -> str:
    async with store.read() as session:
        row = await session.get(ActorKey, actor.name)
    if row is None:
        raise LookupError("the actor has no key yet")
    return row.public_pem

"""Remote actors and their public keys: fetched once, kept in the store, re-fetched when a key rotates."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from activities.errors import ActivityError
from activities.httpsig import load_public_key
from activities.parse import check_url, same_origin
from activities.remote_actor import compact_actor
from inbox.errors import FetchError
from inbox.remote import RemoteFetcher
from store.db import Store
from store.models import RemoteActor, RemoteKey
from store.upsert import insert_ignore

MEMORY_KEYS = 10_000
FAILURE_MEMORY = 30.0  # seconds a key URL that failed is not fetched again
MEMORY_ACTORS = 10_000
ACTOR_MEMORY = 60.0  # seconds a remote actor's inbox is answered from memory before the store is read again


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    owner: str
    key: rsa.RSAPublicKey
    pem: str = ""  # as fetched, for the store (a key made in a test has none)


@dataclass(frozen=True)
class ActorInfo:
    id: str
    inbox: str
    shared_inbox: str | None
    data: dict[str, Any]


class Directory:
    """`refetch_interval`: a failing signature re-fetches its key at most this often, so a stream of bad
    signatures cannot make the peer fetch a remote key for each request."""

    def __init__(
        self,
        store: Store,
        fetcher: RemoteFetcher,
        refetch_interval: float = 10.0,
        failure_memory: float = FAILURE_MEMORY,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.refetch_interval = refetch_interval
        self.failure_memory = failure_memory
        self._keys: OrderedDict[str, PublicKey] = OrderedDict()
        self._fetched_at: dict[str, float] = {}
        self._fetching: dict[str, asyncio.Future[PublicKey]] = {}
        self._failed: OrderedDict[str, tuple[float, FetchError]] = OrderedDict()
        # actor id -> (until, info): the delivery worker resolves a recipient for each answer it sends
        self._actors: OrderedDict[str, tuple[float, ActorInfo]] = OrderedDict()

    async def key(self, key_id: str, *, refresh: bool = False) -> PublicKey:
        if refresh and key_id in self._keys:
            if time.monotonic() - self._fetched_at.get(key_id, 0.0) < self.refetch_interval:
                return self._keys[key_id]
        if not refresh:
            cached = self._keys.get(key_id)
            if cached:
                return cached
            async with self.store.read() as session:
                row = await session.get(RemoteKey, key_id)
            if row is not None:
                return self._remember(PublicKey(row.key_id, row.owner, load_public_key(row.public_pem), row.public_pem))
        return await self._fetch_once(key_id)

    async def _fetch_once(self, key_id: str) -> PublicKey:
        """One fetch per key id, shared by every request waiting for it; a failure is remembered for
        `failure_memory` seconds, so a burst of requests naming a dead key URL costs one fetch."""
        failed = self._failed.get(key_id)
        if failed is not None:
            until, error = failed
            if time.monotonic() < until:
                raise error
            del self._failed[key_id]
        running = self._fetching.get(key_id)
        if running is not None:
            return await asyncio.shield(running)
        known = self._keys.get(key_id)  # fetched by a request that finished while this one looked in the store
        if known is not None and time.monotonic() - self._fetched_at.get(key_id, 0.0) < self.refetch_interval:
            return known
        future: asyncio.Future[PublicKey] = asyncio.get_running_loop().create_future()
        self._fetching[key_id] = future
        try:
            key = await self._fetch_and_store(key_id)
        except FetchError as exc:
            self._failed[key_id] = (time.monotonic() + self.failure_memory, exc)
            while len(self._failed) > MEMORY_KEYS:
                self._failed.popitem(last=False)
            future.set_exception(exc)
            raise
        except Exception as exc:  # the store away, say: the waiters hear the same (a 503, not a refused key)
            future.set_exception(exc)
            raise
        except BaseException as exc:  # cancelled with its request: the waiters are told the fetch failed
            future.set_exception(FetchError(key_id, f"the fetch failed: {type(exc).__name__}"))
            raise
        else:
            future.set_result(key)
            return key
        finally:
            del self._fetching[key_id]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waited

    async def _fetch_and_store(self, key_id: str) -> PublicKey:
        owner, pem = await self._fetch_key(key_id)
        self._fetched_at[key_id] = time.monotonic()
        try:
            key = PublicKey(key_id, owner, load_public_key(pem), pem)
        except ValueError as exc:
            raise FetchError(key_id, f"unusable public key: {exc}") from None
        async with self.store.write() as session:
            await _upsert_key(session, key, self.store.clock())
        return self._remember(key)

    def _remember(self, key: PublicKey) -> PublicKey:
        self._keys[key.key_id] = key
        self._keys.move_to_end(key.key_id)
        while len(self._keys) > MEMORY_KEYS:
            gone, _ = self._keys.popitem(last=False)
            self._fetched_at.pop(gone, None)
        return key

    async def _fetch_key(self, key_id: str) -> tuple[str, str]:
        try:
            url = urldefrag(key_id).url
        except ValueError:
            raise FetchError(key_id, "malformed key id") from None
        doc = await self.fetcher.get_json(url)
        found = _key_in(doc, key_id)
        if found is not None:
            owner = doc.get("id")
            if not isinstance(owner, str) or not same_origin(owner, key_id):
                raise FetchError(key_id, "the key's document is not on the key's host")
            await self._remember_actor(doc)
            return owner, found
        # A standalone key document: its owner must list it.
        owner = doc.get("owner")
        if not isinstance(owner, str) or not isinstance(doc.get("publicKeyPem"), str):
            raise FetchError(key_id, "no public key with that id")
        owner_doc = await self.fetcher.get_json(owner)
        listed = _key_in(owner_doc, key_id)
        if listed is None or owner_doc.get("id") != owner:
            raise FetchError(key_id, "the key's owner does not list the key")
        await self._remember_actor(owner_doc)
        return owner, listed

    async def actor(self, actor_id: str, *, refresh: bool = False) -> ActorInfo:
        """From memory for `ACTOR_MEMORY` seconds (kept up to date by this process's own fetches; another
        process's re-fetch is seen when the memory lapses), else from the store, else fetched."""
        if not refresh:
            cached = self._actors.get(actor_id)
            if cached is not None and time.monotonic() < cached[0]:
                return cached[1]
            async with self.store.read() as session:
                row = await session.get(RemoteActor, actor_id)
            if row is not None:
                return self._remember_info(ActorInfo(row.id, row.inbox, row.shared_inbox, row.data))
        doc = await self.fetcher.get_json(actor_id)
        if doc.get("id") != actor_id:
            raise FetchError(actor_id, "the document's id is not the URL it was fetched from")
        return await self._remember_actor(doc, with_keys=True)

    async def _remember_actor(self, doc: dict[str, Any], *, with_keys: bool = False) -> ActorInfo:
        """Store the actor (and, `with_keys`, the keys its own document lists on its host, in the same
        transaction: its first signed request then needs no fetch, which matters when the actor is a peer too
        busy to answer one in time)."""
        try:
            actor_id = check_url(doc.get("id"), "actor id")
            inbox = check_url(doc.get("inbox"), "inbox")
        except ActivityError as exc:
            raise FetchError(str(doc.get("id")), exc.reason) from None
        endpoints = doc.get("endpoints")
        shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
        shared = shared if isinstance(shared, str) and shared.startswith(("http://", "https://")) else None
        if not same_origin(inbox, actor_id) or (shared and not same_origin(shared, actor_id)):
            raise FetchError(actor_id, "inbox is not on the actor's host")
        kept = compact_actor(doc)
        now = self.store.clock()
        values = {"inbox": inbox, "shared_inbox": shared, "data": kept, "fetched_at": now}
        keys = _own_keys(doc) if with_keys else []
        async with self.store.write() as session:  # an upsert: concurrent first sightings must not collide
            if not await insert_ignore(session, RemoteActor, {"id": actor_id, **values}, ("id",)):
                await session.execute(update(RemoteActor).where(RemoteActor.id == actor_id).values(**values))
            for key in keys:
                await _upsert_key(session, key, now)
        for key in keys:
            self._fetched_at[key.key_id] = time.monotonic()
            self._remember(key)
        return self._remember_info(ActorInfo(actor_id, inbox, shared, kept))

    def _remember_info(self, info: ActorInfo) -> ActorInfo:
        self._actors[info.id] = (time.monotonic() + ACTOR_MEMORY, info)
        self._actors.move_to_end(info.id)
        while len(self._actors) > MEMORY_ACTORS:
            self._actors.popitem(last=False)
        return info


def _key_in(doc: dict[str, Any], key_id: str) -> str | None:
    keys = doc.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if isinstance(key, dict) and key.get("id") == key_id and isinstance(key.get("publicKeyPem"), str):
            if key.get("owner") not in (None, doc.get("id")):
                return None
            return str(key["publicKeyPem"])
    return None


def _own_keys(doc: dict[str, Any]) -> list[PublicKey]:
    """The usable keys an actor's own document lists with ids on its host (and no other owner); others are
    left to be fetched by their id when a request names them."""
    actor_id = doc["id"]
    keys = doc.get("publicKey")
    found = []
    for key in keys if isinstance(keys, list) else [keys]:
        if not isinstance(key, dict) or not isinstance(key_id := key.get("id"), str):
            continue
        pem = _key_in(doc, key_id)
        if pem is None or not same_origin(key_id, actor_id):
            continue
        try:
            found.append(PublicKey(key_id, actor_id, load_public_key(pem), pem))
        except ValueError:
            continue  # an unusable key is reported when a request names it
    return found


async def _upsert_key(session: AsyncSession, key: PublicKey, now: float) -> None:
    """An upsert: concurrent first sightings of a key must not collide."""
    values = {"owner": key.owner, "public_pem": key.pem, "fetched_at": now}
    if not await insert_ignore(session, RemoteKey, {"key_id": key.key_id, **values}, ("key_id",)):
        await session.execute(update(RemoteKey).where(RemoteKey.key_id == key.key_id).values(**values))

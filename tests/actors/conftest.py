"""`peer(kind, …)`: a peer's real services (peer.services.build_services) on a fresh, migrated database of
the test's backend, with its key pair made, and no process: the tests call its rules directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest

from peer.services import build_services
from peer.settings import Settings
from tests.actors.helpers import Clock, Peer
from tests.hostile.helpers import StoreView
from tests.support.databases import Databases

MakePeer = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def peer(databases: Databases) -> AsyncIterator[MakePeer]:
    """Factory: `await peer("shop", trusted={actor id}, peers={"shop": base URL})`."""
    made: list[Peer] = []

    async def make(
        kind: str,
        *,
        base_url: str | None = None,
        trusted: frozenset[str] | set[str] = frozenset(),
        peers: Mapping[str, str] | None = None,
    ) -> Peer:
        url = databases.new(kind)
        settings = Settings(
            kind=kind,
            base_url=base_url or f"http://{kind}.test",
            database_url=url,
            admin_token="actors-unit-token",
            peers=dict(peers or {}),
            trusted=frozenset(trusted),
            allow_private=True,  # the remote documents are served by loopback FakeServers
        )
        runtime = build_services(settings, Clock())
        made.append(Peer(runtime, StoreView(url)))
        await runtime.start()
        return made[-1]

    try:
        yield make
    finally:
        for opened in made:
            opened.view.close()
            await opened.runtime.aclose()

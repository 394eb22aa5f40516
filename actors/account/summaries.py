"""What the blog, events and shop peers hold of a member, asked of each at once with the account actor's signed
GET (the peers' own fetcher and signer): a peer that does not answer in time is named, the others still count."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from actors.context import Services
from actors.member_data import SUMMARY_PATH, email_digest
from inbox.errors import FetchError

log = logging.getLogger(__name__)

PEER_KINDS = ("blog", "events", "shop")
PEER_NAMES = {"blog": "the blog", "events": "the events calendar", "shop": "the shop"}
SUMMARY_SECONDS = 4.0  # the page waits this long for a peer, then shows what the others said


@dataclass
class Summaries:
    found: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind → its summary
    unreachable: list[str] = field(default_factory=list)  # the names of the peers that did not answer

    def of(self, kind: str) -> dict[str, Any]:
        return self.found.get(kind, {})


async def _ask(services: Services, kind: str, member: str, email: str) -> dict[str, Any] | None:
    base = services.peers[kind]
    url = f"{base}{SUMMARY_PATH}?" + urlencode({"member": member, "emailDigest": email_digest(email)})
    try:
        return await asyncio.wait_for(services.fetcher.get_json(url), SUMMARY_SECONDS)
    except (FetchError, TimeoutError) as exc:
        log.warning("the %s peer's summary of a member could not be fetched: %s", kind, exc)
        return None


async def gather(services: Services, member: str, email: str) -> Summaries:
    """Every configured peer's summary of the member (by their verified address)."""
    kinds = [k for k in PEER_KINDS if k in services.peers]
    answers = await asyncio.gather(*(_ask(services, kind, member, email) for kind in kinds))
    out = Summaries()
    for kind, answer in zip(kinds, answers, strict=True):
        if answer is None:
            out.unreachable.append(PEER_NAMES[kind])
        else:
            out.found[kind] = answer
    return out

"""What a member's personal access token may do (client-to-server), and the role each scope needs.

A token is made at the account service for one peer (its client id, the peer's kind) and says so in the clear:
`ra.<peer>.<secret>`, so a peer can tell a token made for another at once. Only its digest is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from actors.roles import BOX_OFFICE, EDITOR, ORGANISER, SHOP_STAFF

TOKEN_PREFIX = "ra"


@dataclass(frozen=True)
class Scope:
    name: str  # "blog:write"
    peer: str  # the client id (a peer's kind) the scope is used at
    role: str  # the role a member must hold, when the token is made and every time it is used
    label: str


BLOG_WRITE = Scope("blog:write", "blog", EDITOR, "Write on the blog (posts, allocations)")
EVENTS_WRITE = Scope("events:write", "events", ORGANISER, "Schedule, change and cancel events")
SHOP_WRITE = Scope("shop:write", "shop", SHOP_STAFF, "Work on the shop's orders")
DOOR_CHECKIN = Scope("door:checkin", "events", BOX_OFFICE, "Check tickets in at the door")
SCOPES: Mapping[str, Scope] = {s.name: s for s in (BLOG_WRITE, EVENTS_WRITE, SHOP_WRITE, DOOR_CHECKIN)}
PEERS = ("blog", "events", "shop")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_audience(token: str) -> str | None:
    """The peer a token says it was made for; None when it is not in the form the account service makes."""
    prefix, _, rest = token.partition(".")
    peer, dot, secret = rest.partition(".")
    if prefix != TOKEN_PREFIX or not dot or peer not in PEERS or len(secret) < 32:
        return None
    return peer

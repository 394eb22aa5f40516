"""The URLs of a peer's own actor, derived from its base URL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalActor:
    name: str  # preferredUsername, also the WebFinger user
    base_url: str  # no trailing slash

    @property
    def id(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def inbox(self) -> str:
        return f"{self.id}/inbox"

    @property
    def outbox(self) -> str:
        return f"{self.id}/outbox"

    @property
    def followers(self) -> str:
        return f"{self.id}/followers"

    @property
    def following(self) -> str:
        return f"{self.id}/following"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    def new_activity_id(self) -> str:
        return f"{self.base_url}/activities/{secrets.token_urlsafe(12)}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

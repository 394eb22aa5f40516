"""Who an activity goes to. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from activities.vocab import is_public


def is_publicly_addressed(activity: Mapping[str, Any]) -> bool:
    return any(
        isinstance(a, str) and is_public(a)
        for field in ("to", "cc", "audience")
        for a in (activity.get(field) or [] if isinstance(activity.get(field), list) else [activity.get(field)])
    )


@dataclass(frozen=True)
class Target:
    actor: str
    inbox: str
    shared_inbox: str | None


def inboxes(targets: Iterable[Target], *, prefer_shared: bool) -> dict[str, list[str]]:
    """Distinct inbox → the actors it serves. Shared inboxes first, so one POST reaches a whole server."""
    out: dict[str, list[str]] = {}
    for target in targets:
        inbox = target.shared_inbox if prefer_shared and target.shared_inbox else target.inbox
        out.setdefault(inbox, []).append(target.actor)
    return out

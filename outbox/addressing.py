"""Who an activity goes to. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from activities.vocab import is_public

ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


def recipients(activity: Mapping[str, Any], sender: str) -> list[str]:
    """Every addressed id except Public and the sender itself, in order, without repeats."""
    seen: dict[str, None] = {}
    for field in ADDRESS_FIELDS:
        value = activity.get(field) or []
        for address in value if isinstance(value, list) else [value]:
            if isinstance(address, str) and not is_public(address) and address != sender:
                seen.setdefault(address, None)
    return list(seen)


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

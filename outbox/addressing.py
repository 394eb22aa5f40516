"""Who an activity goes to. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from activities.vocab import ADDRESS_FIELDS, BLIND_FIELDS, PUBLIC, is_public

VISIBLE_FIELDS = tuple(f for f in ADDRESS_FIELDS if f not in BLIND_FIELDS)


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


def addresses(doc: Mapping[str, Any], fields: Iterable[str]) -> set[str]:
    """The addresses in those fields, Public under its one full name."""
    found: set[str] = set()
    for name in fields:
        value = doc.get(name) or []
        for address in value if isinstance(value, list) else [value]:
            if isinstance(address, str):
                found.add(PUBLIC if is_public(address) else address)
    return found


def addressing_refusal(requested: Mapping[str, Any], made: Mapping[str, Any]) -> str | None:
    """Why the activity an actor kind made does not honour the addressing a client asked for, or None when it
    does. The kind may add addressees its rules need (the author of a featured post); it may not drop one the
    client named, make public what the client did not address to Public, or show a blind (bto/bcc) addressee
    openly. A client that names nobody gets the kind's addressing."""
    asked = addresses(requested, ADDRESS_FIELDS)
    if not asked:
        return None
    what = f"a {made.get('type')} from this outbox"
    given = addresses(made, ADDRESS_FIELDS)
    missing = sorted(asked - given)
    if missing:
        return f"{what} cannot be addressed to {', '.join(missing)}; it goes to {', '.join(sorted(given)) or 'nobody'}"
    if PUBLIC in given and PUBLIC not in asked:
        return f"{what} is always public: address it to Public too, or leave the addressing out"
    shown = addresses(requested, BLIND_FIELDS) & addresses(made, VISIBLE_FIELDS)
    if shown:
        return f"{what} would show {', '.join(sorted(shown))} openly, though they were addressed blind (bto/bcc)"
    return None

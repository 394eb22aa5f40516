"""The trust rules every activity passes before any effect (DESIGN.md, Trust rules)."""

from __future__ import annotations

from activities.parse import Activity, same_origin
from inbox.errors import Forbidden
from inbox.signatures import Verified


def check_sender(activity: Activity, verified: Verified) -> None:
    if verified.owner != activity.actor:
        raise Forbidden("the signing key's owner is not the activity's actor")
    if not same_origin(activity.id, activity.actor):
        raise Forbidden("the activity id is not on the actor's host")


def check_attribution(activity: Activity, attributed_to: object) -> None:
    """An object created, updated or deleted must belong to the activity's actor."""
    owners = attributed_to if isinstance(attributed_to, list) else [attributed_to]
    ids = {o.get("id") if isinstance(o, dict) else o for o in owners}
    if activity.actor not in ids:
        raise Forbidden("the object is not attributed to the activity's actor")


def check_same_origin(activity: Activity, object_id: str) -> None:
    if not same_origin(object_id, activity.actor):
        raise Forbidden("the object is not on the actor's host")

"""The trust rules every activity passes before any effect (DESIGN.md, Trust rules)."""

from __future__ import annotations

from activities.errors import ActivityError
from activities.parse import Activity, same_origin
from inbox.errors import Forbidden, Malformed
from inbox.signatures import Verified


def check_sender(activity: Activity, verified: Verified) -> None:
    if verified.owner != activity.actor:
        raise Forbidden("the signing key's owner is not the activity's actor")
    if not same_origin(activity.id, activity.actor):
        raise Forbidden("the activity id is not on the actor's host")


OWNED_CHANGES = frozenset({"Create", "Update", "Delete"})


def check_object_owner(activity: Activity) -> None:
    """Create/Update/Delete touch only the actor's own objects: same host, and attributed to it."""
    if activity.type not in OWNED_CHANGES or activity.object is None:
        return
    try:
        object_id = activity.object_id
    except ActivityError as exc:
        raise Malformed(exc.reason) from None
    check_same_origin(activity, object_id)
    doc = activity.object_doc
    if doc is not None and doc.get("type") != "Tombstone" and "attributedTo" in doc:
        check_attribution(activity, doc["attributedTo"])


def check_attribution(activity: Activity, attributed_to: object) -> None:
    """An object created, updated or deleted must belong to the activity's actor."""
    owners = attributed_to if isinstance(attributed_to, list) else [attributed_to]
    ids = {o.get("id") if isinstance(o, dict) else o for o in owners}
    if activity.actor not in ids:
        raise Forbidden("the object is not attributed to the activity's actor")


def check_same_origin(activity: Activity, object_id: str) -> None:
    if not same_origin(object_id, activity.actor):
        raise Forbidden("the object is not on the actor's host")

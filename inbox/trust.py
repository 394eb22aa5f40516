"""The trust rules every activity passes before any effect (DESIGN.md, Trust rules)."""

from __future__ import annotations

from typing import Any

from activities.errors import ActivityError
from activities.parse import Activity, same_origin
from activities.vocab import recipients
from inbox.errors import Forbidden, Malformed, Unprocessable
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


def check_answer(answer: Activity, sent: dict[str, Any] | None, local_actor: str) -> str:
    """An Accept/Reject counts only for an activity `local_actor` sent, and only from an actor it was sent to.
    Returns the answered activity's type, which picks the listener."""
    if sent is None or sent.get("actor") != local_actor:
        raise Forbidden(f"{answer.type} of an activity this peer did not send")
    if answer.actor not in recipients(sent, local_actor):
        raise Forbidden(f"{answer.type} from an actor the activity was not sent to")
    return str(sent.get("type"))


def answered_id(answer: Activity) -> str:
    try:
        return answer.object_id
    except ActivityError:
        raise Unprocessable(f"{answer.type} needs an object") from None

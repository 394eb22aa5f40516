"""Build the AS2 documents a peer serves and sends."""

from __future__ import annotations

from typing import Any

from activities.vocab import CONTEXT


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {"@context": CONTEXT, **{k: v for k, v in doc.items() if k != "@context"}}


def activity(
    kind: str,
    activity_id: str,
    actor: str,
    obj: Any,
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": activity_id, "type": kind, "actor": actor, "object": obj}
    if to:
        doc["to"] = to
    if cc:
        doc["cc"] = cc
    doc.update({k: v for k, v in extra.items() if v is not None})
    return with_context(doc)


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What may be served or sent: blind recipients are never shown."""
    return {k: v for k, v in doc.items() if k not in ("bto", "bcc")}


def actor_document(
    *,
    actor_id: str,
    kind: str,
    username: str,
    name: str,
    summary: str,
    base_url: str,
    public_key_pem: str,
    manually_approves: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": actor_id,
        "type": kind,
        "preferredUsername": username,
        "name": name,
        "summary": summary,
        "url": f"{base_url}/",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "following": f"{actor_id}/following",
        "endpoints": {"sharedInbox": f"{base_url}/inbox"},
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": True,
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_key_pem},
    }
    doc.update(extra or {})
    return with_context(doc)


def ordered_collection(
    collection_id: str, total: int, first: str | None, last: str | None = None, **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": collection_id, "type": "OrderedCollection", "totalItems": total}
    if first:
        doc["first"] = first
    if last:
        doc["last"] = last
    doc.update(extra)
    return with_context(doc)


def ordered_collection_page(
    page_id: str,
    collection_id: str,
    items: list[Any],
    *,
    total: int,
    next_page: str | None,
    prev_page: str | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if next_page:
        doc["next"] = next_page
    if prev_page:
        doc["prev"] = prev_page
    return with_context(doc)


def tombstone(object_id: str, former_type: str, deleted: str) -> dict[str, Any]:
    return with_context({"id": object_id, "type": "Tombstone", "formerType": former_type, "deleted": deleted})


def iso(timestamp: float) -> str:
    """An xsd:dateTime in UTC, as AS2 `published` and `updated` want it."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

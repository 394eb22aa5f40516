"""What we keep of a remote actor's document: the fields we use, bounded, not whatever the server sent."""

from __future__ import annotations

from typing import Any

MAX_TEXT = 500
MAX_URL = 2048
MAX_PEM = 16_384

_URL_FIELDS = ("id", "inbox", "outbox", "followers", "following", "url")
_TEXT_FIELDS = ("type", "preferredUsername", "name")


def compact_actor(doc: dict[str, Any]) -> dict[str, Any]:
    """The actor document as stored: ids, inboxes, public keys, the name and avatar people see."""
    kept: dict[str, Any] = {}
    for name in _URL_FIELDS:
        if isinstance(value := doc.get(name), str) and len(value) <= MAX_URL:
            kept[name] = value
    for name in _TEXT_FIELDS:
        if isinstance(value := doc.get(name), str):
            kept[name] = value[:MAX_TEXT]
    if isinstance(doc.get("manuallyApprovesFollowers"), bool):
        kept["manuallyApprovesFollowers"] = doc["manuallyApprovesFollowers"]
    endpoints = doc.get("endpoints")
    if isinstance(endpoints, dict) and isinstance(shared := endpoints.get("sharedInbox"), str) and len(shared) <= MAX_URL:
        kept["endpoints"] = {"sharedInbox": shared}
    icon = doc.get("icon")
    icon_url = icon.get("url") if isinstance(icon, dict) else icon
    if isinstance(icon_url, str) and len(icon_url) <= MAX_URL:
        kept["icon"] = {"type": "Image", "url": icon_url}
    keys = doc.get("publicKey")
    kept_keys = [
        {k: key[k] for k in ("id", "owner", "publicKeyPem") if isinstance(key.get(k), str)}
        for key in (keys if isinstance(keys, list) else [keys])[:4]
        if isinstance(key, dict) and len(str(key.get("publicKeyPem", ""))) <= MAX_PEM
    ]
    if kept_keys:
        kept["publicKey"] = kept_keys[0] if not isinstance(keys, list) else kept_keys
    return kept

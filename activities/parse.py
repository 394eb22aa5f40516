"""Parse untrusted JSON into typed activities, refusing anything malformed with a clear reason."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from activities.errors import ActivityError

MAX_DEPTH = 32
MAX_STRING = 200_000
MAX_ID_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # never in a URL or a type; PostgreSQL text cannot even hold NUL


def load_json(body: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Decode a request body that must be one JSON object of bounded nesting."""
    # Counting brackets is C-fast; walking the text byte by byte is needed only when there are enough of them
    # to nest too deep (an activity has a few dozen at most).
    if body.count(b"[") + body.count(b"{") > max_depth and _bracket_depth(body) > max_depth:
        raise ActivityError(f"JSON nested deeper than {max_depth} levels")
    try:  # as json.loads(body, parse_constant=_not_json) decodes, without building a decoder each time
        doc = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        raise ActivityError(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ActivityError("the body must be a JSON object")
    return doc


def _not_json(constant: str) -> None:
    """NaN and ±Infinity are Python's extension, not JSON (PostgreSQL's json type refuses them)."""
    raise ValueError(f"{constant} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _bracket_depth(body: bytes) -> int:
    """Nesting depth of a JSON text, counted before decoding so a deep body costs one linear scan."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def check_url(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ActivityError(f"{what} must be a URL string")
    if len(value) > MAX_ID_LENGTH:
        raise ActivityError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    try:
        scheme, hostname, _ = _origin(value)
    except ValueError:
        raise ActivityError(f"{what} must be an http(s) URL") from None
    if scheme not in ("http", "https") or not hostname or _CONTROL.search(value):
        raise ActivityError(f"{what} must be an http(s) URL")
    return value


@functools.lru_cache(maxsize=1024)
def _origin(url: str) -> tuple[str, str | None, int | None]:
    """Scheme, host and port; ValueError for a port that is not a number in range. Cached: one inbox request
    checks its id, actor and object and compares their origins, and an actor's id comes with everything it
    sends (SplitResult's hostname and port are properties that parse the netloc again at every read)."""
    simple = _SIMPLE_URL.fullmatch(url)
    if simple is not None and (simple[3] is None or int(simple[3]) <= 65535):
        return simple[1], simple[2].lower(), None if simple[3] is None else int(simple[3])
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


# A URL whose scheme, host and port urlsplit would return as they are written (the host in lower case): no
# user info, brackets, percent signs or characters it strips; the rest of it cannot change them. Others go to
# urlsplit itself, which parses them in Python at about ten times the cost.
_SIMPLE_URL = re.compile(r"(https?)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(?:[/?#][^\t\r\n]*)?")


def id_of(value: object, what: str) -> str:
    """The id of a reference that is either a URL or an object with an `id`."""
    if isinstance(value, dict):
        return check_url(value.get("id"), f"{what}.id")
    if isinstance(value, list) and len(value) == 1:
        return id_of(value[0], what)
    return check_url(value, what)


def optional_text(doc: dict[str, Any], key: str, limit: int = MAX_STRING) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ActivityError(f"{key} must be a string")
    if len(value) > limit:
        raise ActivityError(f"{key} is longer than {limit} characters")
    return value


def address_list(doc: dict[str, Any], key: str) -> tuple[str, ...]:
    value = doc.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if not isinstance(item, str) or len(item) > MAX_ID_LENGTH or _CONTROL.search(item):
            raise ActivityError(f"{key} must hold URL strings")
        out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class Activity:
    id: str
    type: str
    actor: str
    object: Any = None
    target: Any = None
    result: Any = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bto: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    summary: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def object_id(self) -> str:
        return id_of(self.object, "object")

    @property
    def object_doc(self) -> dict[str, Any] | None:
        return self.object if isinstance(self.object, dict) else None

    @property
    def target_id(self) -> str:
        return id_of(self.target, "target")


def parse_activity(doc: dict[str, Any]) -> Activity:
    kind = doc.get("type")
    if isinstance(kind, list) and kind and all(isinstance(k, str) for k in kind):
        kind = kind[0]
    if not isinstance(kind, str) or not kind or len(kind) > 64 or _CONTROL.search(kind):
        raise ActivityError("type must be a short string")
    activity_id = check_url(doc.get("id"), "id")
    actor = id_of(doc.get("actor"), "actor")
    return Activity(
        id=activity_id,
        type=kind,
        actor=actor,
        object=_reference(doc.get("object"), "object"),
        target=_reference(doc.get("target"), "target"),
        result=_reference(doc.get("result"), "result"),
        to=address_list(doc, "to"),
        cc=address_list(doc, "cc"),
        bto=address_list(doc, "bto"),
        bcc=address_list(doc, "bcc"),
        audience=address_list(doc, "audience"),
        summary=optional_text(doc, "summary", 5000),
        raw=doc,
    )


def _reference(value: object, what: str) -> object:
    if value is None or isinstance(value, (str, dict)):
        if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
            raise ActivityError(f"{what} is longer than {MAX_ID_LENGTH} characters")
        if isinstance(value, str) and _CONTROL.search(value):
            raise ActivityError(f"{what} must be a URL or an object")
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], (str, dict)):
        return value[0]
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, (str, dict)) for v in value):
        raise ActivityError(f"{what} lists {len(value)} items: this peer takes one {what} per activity")
    raise ActivityError(f"{what} must be a URL or an object")


def same_origin(a: str, b: str) -> bool:
    return _origin(a) == _origin(b)

"""The operator's side of a running peer, driven as a browser would: log in with the admin token (the
login form carries a CSRF token bound to the session cookie), then post the admin forms."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

AS2 = "application/activity+json"
T = TypeVar("T")

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PENDING = re.compile(r'name="follow" value="([^"]+)"')


def eventually(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1, what: str = "") -> T:
    """Poll `check` until it returns something truthy (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check.__name__}: {last!r}")
        time.sleep(interval)


class Admin:
    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.client = httpx.Client(base_url=base_url, trust_env=False, timeout=10.0, transport=transport)

    def close(self) -> None:
        self.client.close()

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        match = _CSRF.search(page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self) -> Admin:
        csrf = self.csrf("/login")
        answer = self.client.post("/login", data={"csrf": csrf, "token": self.token, "next": "/admin/followers"})
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        assert answer.headers["location"] == "/admin/followers"
        assert self.client.get("/admin/followers").status_code == 200
        return self

    def follow(self, target: str) -> str:
        answer = self.client.post("/admin/follow", data={"csrf": self.csrf("/admin/followers"), "actor": target})
        assert answer.status_code == 303, answer.text[:500]
        message = httpx.URL(self.base_url + answer.headers["location"]).params.get("m", "")
        assert message.startswith("Follow sent to"), message
        return message

    def unfollow(self, follow_id: str) -> None:
        answer = self.client.post(
            "/admin/unfollow", data={"csrf": self.csrf("/admin/followers"), "unfollow": follow_id}
        )
        assert answer.status_code == 303, answer.text[:500]

    def pending_follows(self) -> list[str]:
        return _PENDING.findall(self.client.get("/admin/followers").text)

    def decide(self, follow_id: str, decision: str) -> None:
        csrf = self.csrf("/admin/followers")
        answer = self.client.post(
            "/admin/followers/decide", data={"csrf": csrf, "follow": follow_id, "decision": decision}
        )
        assert answer.status_code == 303, answer.text[:500]


def collection(base_url: str, path: str) -> dict[str, Any]:
    """An OrderedCollection with the items of its first page (AS2 JSON)."""
    with httpx.Client(trust_env=False, timeout=10.0, headers={"accept": AS2}) as client:
        doc = client.get(base_url + path)
        assert doc.status_code == 200, doc.text
        assert doc.headers["content-type"].startswith(AS2)
        body = doc.json()
        first = client.get(body["first"]).json()
        body["items"] = first.get("orderedItems", [])
        return body

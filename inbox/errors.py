"""Typed refusals. Each carries the HTTP status and a reason safe to show the sender."""

import logging

log = logging.getLogger(__name__)


class InboxError(Exception):
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(InboxError):
    status = 401


class Forbidden(InboxError):
    status = 403


class Malformed(InboxError):
    status = 400


class Unprocessable(InboxError):
    """Well-formed and authentic, but refused by a rule (a kind's handler raises this)."""

    status = 422


class TooLarge(InboxError):
    status = 413


class WrongMediaType(InboxError):
    status = 415


class FetchError(Exception):
    """A remote document could not be fetched safely."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BlockedAddress(FetchError):
    """The URL points at an address the SSRF guard refuses."""


def unfetchable(what: str, exc: FetchError) -> str:
    """The reason given to a sender when a fetch made on its behalf failed: what could not be fetched, never
    why (a connection refused, a status, a blocked address would let a sender map our network through us).
    The why goes to the log."""
    log.warning("fetching %s failed: %s", exc.url, exc.reason)
    return f"cannot fetch {what}"


class TryLater(InboxError):
    """We cannot decide now (a remote look-up failed); the sender should retry."""

    status = 503

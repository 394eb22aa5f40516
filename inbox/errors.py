"""Typed refusals. Each carries the HTTP status and a reason safe to show the sender."""


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


class TryLater(InboxError):
    """We cannot decide now (a remote look-up failed); the sender should retry."""

    status = 503

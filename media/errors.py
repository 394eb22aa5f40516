"""Why an upload is refused, in a sentence the uploader reads."""

from __future__ import annotations


class MediaError(Exception):
    """An upload we refuse; `reason` is shown to the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

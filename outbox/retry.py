"""The retry policy, as a pure function of what happened."""

from __future__ import annotations

import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give up"
    GONE = "gone"  # 410: the recipient is gone for good


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 30.0
    max_delay: float = 6 * 3600.0
    horizon: float = 3 * 24 * 3600.0  # give up on deliveries older than this

    def verdict(self, status: int | None) -> Verdict:
        if status is not None and 200 <= status < 300:
            return Verdict.DELIVERED
        if status == 410:
            return Verdict.GONE
        # 401 is retried, as Mastodon retries it: a receiver that could not fetch our key at that moment (busy,
        # restarting) answers 401, and the delivery must not be lost for it. 501 will not change on a retry.
        if status == 501 or (status is not None and 400 <= status < 500 and status not in (401, 408, 429)):
            return Verdict.GIVE_UP
        return Verdict.RETRY

    def next_attempt(
        self, *, attempts: int, created_at: float, now: float, retry_after: float | None = None
    ) -> float | None:
        """When to try again after `attempts` failures, or None past the horizon."""
        delay = min(self.max_delay, self.base_delay * (2.0 ** max(0, attempts - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay))
        if now + delay - created_at > self.horizon:
            return None
        return now + delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait, from a Retry-After header in either of its forms."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None  # "9" * 400 is not a wait, it is noise
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None

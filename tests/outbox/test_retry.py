from email.utils import formatdate

import pytest

from outbox.retry import RetryPolicy, Verdict, parse_retry_after

NOW = 1_790_000_000.0


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (410, Verdict.GONE),
        (400, Verdict.GIVE_UP),
        (401, Verdict.RETRY),  # the receiver could not fetch our key just then: Mastodon retries it too
        (403, Verdict.GIVE_UP),
        (404, Verdict.GIVE_UP),
        (422, Verdict.GIVE_UP),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (501, Verdict.GIVE_UP),
        (301, Verdict.RETRY),
        (None, Verdict.RETRY),  # connection error, timeout
    ],
)
def test_verdict(status: int | None, verdict: Verdict) -> None:
    assert RetryPolicy().verdict(status) is verdict


def test_backoff_doubles_from_the_base() -> None:
    policy = RetryPolicy(base_delay=30, max_delay=3600, horizon=10**9)
    delays = [policy.next_attempt(attempts=n, created_at=NOW, now=NOW) - NOW for n in range(1, 9)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_attempt_zero_uses_the_base_delay() -> None:
    assert RetryPolicy(base_delay=5).next_attempt(attempts=0, created_at=NOW, now=NOW) == NOW + 5


def test_backoff_is_capped_for_huge_attempt_counts() -> None:
    policy = RetryPolicy(base_delay=30, max_delay=600, horizon=10**12)
    assert policy.next_attempt(attempts=500, created_at=NOW, now=NOW) == NOW + 600


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    policy = RetryPolicy(base_delay=30, max_delay=3600, horizon=10**9)
    assert policy.next_attempt(attempts=1, created_at=NOW, now=NOW, retry_after=120) == NOW + 120
    # shorter than the backoff: the backoff wins
    assert policy.next_attempt(attempts=3, created_at=NOW, now=NOW, retry_after=10) == NOW + 120
    # absurd Retry-After: capped at max_delay
    assert policy.next_attempt(attempts=1, created_at=NOW, now=NOW, retry_after=10**8) == NOW + 3600


def test_give_up_past_the_horizon() -> None:
    policy = RetryPolicy(base_delay=60, max_delay=3600, horizon=3600)
    assert policy.next_attempt(attempts=1, created_at=NOW, now=NOW + 3000) == NOW + 3060
    assert policy.next_attempt(attempts=1, created_at=NOW, now=NOW + 3541) is None
    # a Retry-After that lands past the horizon gives up as well
    long_cap = RetryPolicy(base_delay=60, max_delay=7200, horizon=3600)
    assert long_cap.next_attempt(attempts=1, created_at=NOW, now=NOW, retry_after=3601) is None


def test_a_retry_never_lands_past_the_horizon() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=100, horizon=500)
    now, attempts = NOW, 0
    while True:
        attempts += 1
        nxt = policy.next_attempt(attempts=attempts, created_at=NOW, now=now)
        if nxt is None:
            break
        assert nxt - NOW <= 500
        now = nxt
    assert attempts > 5


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 7 ", NOW) == 7
    assert parse_retry_after(formatdate(NOW + 90, usegmt=True), NOW) == pytest.approx(90)
    assert parse_retry_after(formatdate(NOW - 90, usegmt=True), NOW) == 0
    for nothing in (None, "", "soon", "-5", "1.5e3", "9" * 400):  # the last is infinity as a float
        assert parse_retry_after(nothing, NOW) is None

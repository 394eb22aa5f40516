"""Holding back password guessing at the account service's sign-in, in memory (per process: a restart forgets
it, and each process of a service counts on its own).

- Per account (the email typed, whether or not a member has it, so the answer tells nobody who is a member):
  `free` wrong passwords, then each further one locks the address for 1, 2, 4 … minutes (at most a day) after it.
  A right password during a lockout does not sign in.
- Per client address: at most `per_client` wrong passwords in `window` seconds, whichever accounts they were
  for (credential stuffing: one client trying many addresses).
- Overall: at most `overall` wrong passwords in `window` seconds from everyone (many clients)."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.requests import Request

from actors.sessions import Throttle

MAX_ACCOUNTS = 100_000  # addresses remembered at once; the quietest are forgotten first
FORGET_AFTER = 24 * 3600.0  # an address with no wrong password for this long starts again from nothing


@dataclass
class Strikes:
    count: int = 0
    last: float = 0.0


@dataclass
class SigninThrottle:
    free: int = 5
    first_wait: float = 60.0
    longest_wait: float = 24 * 3600.0
    per_client: int = 20
    overall: int = 300
    window: float = 600.0
    _accounts: OrderedDict[str, Strikes] = field(default_factory=OrderedDict)
    _clients: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self._clients = Throttle(per_client=self.per_client, overall=self.overall, window=self.window)

    def locked_for(self, email: str, now: float) -> float:
        """Seconds until the address may be tried again (0 when it may be now)."""
        strikes = self._accounts.get(email)
        if strikes is None or strikes.count < self.free:
            return 0.0
        if now - strikes.last > FORGET_AFTER:
            del self._accounts[email]
            return 0.0
        wait = min(self.first_wait * 2.0 ** (strikes.count - self.free), self.longest_wait)
        return max(0.0, strikes.last + wait - now)

    def refusal(self, client: str, email: str, now: float) -> str | None:
        """The sentence to answer instead of checking the password, or None to check it."""
        wait = self.locked_for(email, now)
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            unit = "minute" if minutes == 1 else "minutes"
            return (
                "Too many wrong passwords were tried for this account. "
                f"Try again in {minutes} {unit}, or reset your password."
            )
        if not self._clients.allows(client, now):
            return "Too many wrong passwords were tried from your address. Try again in a few minutes."
        return None

    def failed(self, client: str, email: str, now: float) -> None:
        strikes = self._accounts.pop(email, None) or Strikes()
        strikes.count, strikes.last = strikes.count + 1, now
        self._accounts[email] = strikes  # the most recently struck last: the quietest are evicted first
        while len(self._accounts) > MAX_ACCOUNTS:
            self._accounts.popitem(last=False)
        self._clients.failed(client, now)

    def succeeded(self, email: str) -> None:
        self._accounts.pop(email, None)

    def forget(self, email: str) -> None:
        """A password reset by emailed link: the address starts again from nothing."""
        self._accounts.pop(email, None)


@dataclass
class AccountThrottles:
    signin: SigninThrottle = field(default_factory=SigninThrottle)
    # sign-up, reset and resend each email an address the requester names: a few per client a minute and per
    # address an hour, so that the service cannot be used to flood an inbox
    mail_per_client: Throttle = field(default_factory=lambda: Throttle(per_client=10, overall=500, window=60.0))
    mail_per_address: Throttle = field(default_factory=lambda: Throttle(per_client=3, overall=10**9, window=3600.0))

    def may_mail(self, client: str, address: str, now: float) -> bool:
        if not self.mail_per_client.allows(client, now) or not self.mail_per_address.allows(address, now):
            return False
        self.mail_per_client.failed(client, now)
        self.mail_per_address.failed(address, now)
        return True


def throttles(request: Request) -> AccountThrottles:
    """The app's throttles (one set per app, made on first use)."""
    state = request.app.state
    found = getattr(state, "account_throttles", None)
    if not isinstance(found, AccountThrottles):
        found = state.account_throttles = AccountThrottles()
    return found


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""

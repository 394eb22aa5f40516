"""Everything that leaves the peer: the SSRF guard, the guarded httpx transport, per-host limits and the
double-knock memory of HTTP signature schemes. Imports only `activities`, the standard library and
third-party packages, so that inbox/ and outbox/ can both use it."""

from net.guard import AddressCheck, AddressGuard, Refused, Unresolvable, resolve_checked
from net.knock import REFUSED, SchemeMemory
from net.limits import HostLimiter
from net.transport import DeadlineExceeded, GuardedTransport, ResponseTooLarge, guarded_client, is_guarded

__all__ = [
    "REFUSED",
    "AddressCheck",
    "AddressGuard",
    "DeadlineExceeded",
    "GuardedTransport",
    "HostLimiter",
    "Refused",
    "ResponseTooLarge",
    "SchemeMemory",
    "Unresolvable",
    "guarded_client",
    "is_guarded",
    "resolve_checked",
]

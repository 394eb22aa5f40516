"""Double knock, as Fedify does it: sign with one HTTP signature scheme, and when the receiver refuses the
request, sign again with the other; remember per origin the scheme that got through."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from activities.httpsig import SignatureScheme

# Fedify takes 401 as "try the other scheme"; other servers answer an unknown scheme with 400 or 403.
REFUSED = frozenset({400, 401, 403})
MAX_ORIGINS = 10_000


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _other(scheme: SignatureScheme) -> SignatureScheme:
    return SignatureScheme.CAVAGE if scheme is SignatureScheme.RFC9421 else SignatureScheme.RFC9421


@dataclass
class SchemeMemory:
    first: SignatureScheme = SignatureScheme.RFC9421
    _known: dict[str, SignatureScheme] = field(default_factory=dict, init=False, repr=False)

    def order(self, url: str) -> tuple[SignatureScheme, SignatureScheme]:
        """The scheme to knock with first at `url`'s origin, then the fallback."""
        first = self._known.get(origin_of(url), self.first)
        return first, _other(first)

    def known(self, url: str) -> SignatureScheme | None:
        return self._known.get(origin_of(url))

    def answered(self, url: str, scheme: SignatureScheme, status: int) -> None:
        """Record how the origin answered a request signed with `scheme`."""
        if status in REFUSED or status >= 500:
            return
        if len(self._known) >= MAX_ORIGINS:  # bounded; forgetting costs one extra knock
            self._known.clear()
        self._known[origin_of(url)] = scheme

"""actors/page_inputs.py: a listing is rendered again from the same values only when its digest cannot tell them
apart; anything it cannot see into makes the page undigestible (rendered each time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.page_inputs import digest


@dataclass(frozen=True)
class Wanted:
    category: str


def helper(value: str) -> str:
    return value.upper()


def context(name: str = "Evening", sold: int = 3, category: str = "music", prefix: str = "/e/") -> dict[str, Any]:
    return {
        "events": [{"id": "https://x/e/1", "name": name, "tags": ("a", "b")}],
        "sold": {"https://x/e/1": sold},
        "wanted": Wanted(category),
        "slug": helper,
        "link": lambda event: prefix + event["id"],
    }


def test_equal_values_have_one_digest_and_any_change_another() -> None:
    assert digest(context()) is not None
    assert digest(context()) == digest(context()), "built again (a new lambda), the same values"
    changed = [context(name="Night"), context(sold=4), context(category="talks"), context(prefix="/x/")]
    assert len({digest(c) for c in changed} | {digest(context())}) == 5


def test_values_it_cannot_see_into_make_the_page_undigestible() -> None:
    class Opaque:
        pass

    assert digest({**context(), "thing": Opaque()}) is None
    assert digest({1: "a", "b": 2}) is None  # keys it cannot order

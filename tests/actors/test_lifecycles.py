"""The lifecycles, each declared once (store/lifecycle.py): the moves the business allows pass, every other
move raises IllegalTransition. The expected moves are written out here, so a change to a declaration shows."""

from __future__ import annotations

from enum import StrEnum

import pytest

from activities.order import OrderStatus
from actors.blog.allocation_states import ALLOCATION, AllocationState
from actors.events.purchase_states import PURCHASE_LIFECYCLE, PurchaseState
from actors.shop.order_states import ORDER_LIFECYCLE
from outbox.states import DELIVERY, FANOUT, DeliveryState, FanOutState
from store.follow_states import FOLLOW, FollowState
from store.lifecycle import IllegalTransition, Lifecycle

Moves = dict[str, set[str]]

EXPECTED: dict[str, tuple[Lifecycle[StrEnum], Moves]] = {
    "purchase": (
        PURCHASE_LIFECYCLE,  # type: ignore[dict-item]
        {
            "pending": {"confirmed", "rejected", "held"},
            "held": {"confirmed", "cancelled", "refunded"},
            "confirmed": {"refunded"},
            "cancelled": {"confirmed"},
        },
    ),
    "order": (
        ORDER_LIFECYCLE,  # type: ignore[dict-item]
        {
            "OrderPaymentDue": {"OrderProcessing", "OrderDelivered", "OrderCancelled"},
            "OrderProcessing": {"OrderDelivered", "OrderReturned"},
            "OrderDelivered": {"OrderReturned"},
            "OrderCancelled": {"OrderDelivered"},
        },
    ),
    "allocation": (
        ALLOCATION,  # type: ignore[dict-item]
        {"pending": {"allocated", "rejected"}, "allocated": {"allocated"}, "rejected": {"rejected"}},
    ),
    "follow": (
        FOLLOW,  # type: ignore[dict-item]
        {
            "pending": {"accepted", "rejected", "undone", "gone"},
            "accepted": {"accepted", "rejected", "undone", "gone"},
            "rejected": {"rejected", "accepted", "gone"},
        },
    ),
    "fan-out": (FANOUT, {"pending": {"pending", "done", "failed"}}),  # type: ignore[dict-item]
    "delivery": (DELIVERY, {"pending": {"pending", "delivered", "failed", "gone"}}),  # type: ignore[dict-item]
}

PAIRS = [
    pytest.param(name, old, new, id=f"{name}:{old}->{new}")
    for name, (lifecycle, _) in EXPECTED.items()
    for old in lifecycle.states
    for new in lifecycle.states
]


@pytest.mark.parametrize(("name", "old", "new"), PAIRS)
def test_a_move_passes_exactly_when_the_business_allows_it(name: str, old: StrEnum, new: StrEnum) -> None:
    lifecycle, expected = EXPECTED[name]
    allowed = new.value in expected.get(old.value, set())
    assert lifecycle.can_move(old.value, new) is allowed
    if allowed:
        assert lifecycle.move(old.value, new) is new
    else:
        with pytest.raises(IllegalTransition) as refused:
            lifecycle.move(old.value, new)
        assert (refused.value.lifecycle, refused.value.old, refused.value.new) == (name, old.value, new)
        assert f"{old.value} → {new.value}" in str(refused.value)


@pytest.mark.parametrize(
    ("lifecycle", "terminal"),
    [
        (PURCHASE_LIFECYCLE, {PurchaseState.REJECTED, PurchaseState.REFUNDED}),
        (ORDER_LIFECYCLE, {OrderStatus.RETURNED}),
        (ALLOCATION, set()),
        (FOLLOW, {FollowState.UNDONE, FollowState.GONE}),
        (FANOUT, {FanOutState.DONE, FanOutState.FAILED}),
        (DELIVERY, {DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.GONE}),
    ],
)
def test_terminal_states(lifecycle: Lifecycle[StrEnum], terminal: set[StrEnum]) -> None:
    assert {s for s in lifecycle.states if lifecycle.terminal(s.value)} == terminal


def test_the_database_strings_are_unchanged() -> None:
    """Rows written before the lifecycles were declared keep their meaning."""
    assert [s.value for s in PurchaseState] == ["pending", "confirmed", "rejected", "held", "cancelled", "refunded"]
    assert [s.value for s in OrderStatus] == [
        "OrderPaymentDue",
        "OrderProcessing",
        "OrderDelivered",
        "OrderCancelled",
        "OrderReturned",
    ]
    assert [s.value for s in AllocationState] == ["pending", "allocated", "rejected"]
    assert [s.value for s in FollowState] == ["pending", "accepted", "rejected", "undone", "gone"]
    assert [s.value for s in FanOutState] == ["pending", "done", "failed"]
    assert [s.value for s in DeliveryState] == ["pending", "delivered", "failed", "gone"]


def test_sources_of_a_state_are_the_states_that_may_move_to_it() -> None:
    """What an UPDATE … WHERE state IN (…) is built from."""
    assert FOLLOW.sources_of(FollowState.ACCEPTED) == {FollowState.PENDING, FollowState.ACCEPTED, FollowState.REJECTED}
    assert FOLLOW.sources_of(FollowState.UNDONE) == {FollowState.PENDING, FollowState.ACCEPTED}
    assert FOLLOW.sources_of(FollowState.PENDING) == frozenset()
    assert DELIVERY.sources_of(DeliveryState.GONE) == {DeliveryState.PENDING}


def test_a_state_no_lifecycle_declares_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        PURCHASE_LIFECYCLE.can_move("shipped", PurchaseState.CONFIRMED)
    with pytest.raises(ValueError, match="not a valid"):
        PURCHASE_LIFECYCLE.move("", PurchaseState.CONFIRMED)


def test_a_declaration_moving_to_an_undeclared_state_is_refused() -> None:
    class Light(StrEnum):
        RED = "red"
        GREEN = "green"

    class Other(StrEnum):
        BLUE = "blue"

    with pytest.raises(ValueError, match="does not declare"):
        Lifecycle("light", Light, {Light.RED: frozenset({Other.BLUE})})  # type: ignore[misc]
    light = Lifecycle("light", Light, {Light.RED: frozenset({Light.GREEN})})
    assert light.terminal(Light.GREEN.value) and not light.terminal(Light.RED.value)

import pytest

from activities.errors import ActivityError
from activities.order import order_offer_object, parse_customer, parse_order

EVENT = "https://e.example/events/summer-gig"


def test_offer_object_round_trips() -> None:
    obj = order_offer_object(EVENT, 2, parse_customer("Ada", "ada@example.org"))
    request = parse_order(obj)
    assert request.event == EVENT and request.quantity == 2
    assert request.customer.name == "Ada" and request.customer.email == "ada@example.org"
    assert request.claimed_price is None and request.claimed_capacity is None


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ("not an object", "must be an Order"),
        ({"type": "Note"}, "must be an Order"),
        ({"type": "Order", "orderedItem": EVENT, "customer": "Ada"}, "customer"),
        ({"type": "Order", "orderedItem": "file:///etc/passwd", "customer": {"name": "A", "email": "a@b.co"}}, "http"),
        (
            {"type": "Order", "orderedItem": EVENT, "quantity": 0, "customer": {"name": "A", "email": "a@b.co"}},
            "quantity",
        ),
        (
            {"type": "Order", "orderedItem": EVENT, "quantity": "11", "customer": {"name": "A", "email": "a@b.co"}},
            "quantity",
        ),
        ({"type": "Order", "orderedItem": EVENT, "customer": {"name": "A", "email": "nope"}}, "email"),
        ({"type": "Order", "orderedItem": EVENT, "customer": {"name": "", "email": "a@b.co"}}, "name"),
        (
            {
                "type": "Order",
                "orderedItem": EVENT,
                "maximumAttendeeCapacity": "9",
                "customer": {"name": "A", "email": "a@b.co"},
            },
            "integer",
        ),
    ],
)
def test_bad_orders_are_refused(obj: object, reason: str) -> None:
    with pytest.raises(ActivityError, match=reason):
        parse_order(obj)


def test_buyer_name_is_stripped_of_markup() -> None:
    assert parse_customer("<script>x</script>Ada <b>L</b>", "ada@example.org").name == "Ada L"

"""The idempotency key the `stripe` provider sends with a refund: one per refund, the same on every retry of it.
(localstripe, the tests' Stripe, ignores `Idempotency-Key`, so no test here can show Stripe answering a retry
with the first refund; see the README.)"""

from actors.shop.payments import PartRefund
from actors.shop.payments.stripe_provider import refund_key

ORDER = {"id": "http://shop.test/orders/1001", "price": "30.00"}


def test_a_retried_refund_sends_the_same_key_and_each_refund_its_own() -> None:
    part = PartRefund(amount="10.00", key="1001-2")
    assert refund_key(ORDER, part) == refund_key({**ORDER, "price": "20.00"}, PartRefund("10.00", "1001-2"))
    keys = {refund_key(ORDER), refund_key(ORDER, part), refund_key(ORDER, PartRefund("10.00", "1001-3"))}
    assert len(keys) == 3
    assert refund_key({**ORDER, "id": "http://shop.test/orders/1002"}, part) not in keys

"""The payment providers' own rules (actors/shop/payments/): which provider an order is paid through, Stripe's
amounts in minor units, its webhook signature check, and a provider that cannot be reached answering with a
sentence (the checkout shows it; nothing is written)."""

from __future__ import annotations

import json

import pytest

from actors.context import StripeKeys
from actors.shop.payments import BadNotification, PaymentError
from actors.shop.payments.simple import Free, Manual
from actors.shop.payments.stripe_provider import StripeProvider, minor_units
from tests.support.localstripe import WEBHOOK_SECRET, signed
from tests.support.processes import free_port


def provider(api_base: str = "http://127.0.0.1:9") -> StripeProvider:
    return StripeProvider(StripeKeys("sk_test_x", "pk_test_x", WEBHOOK_SECRET, api_base=api_base))


def intent_event(kind: str = "payment_intent.succeeded", **intent: object) -> dict[str, object]:
    body = {"id": "pi_1", "object": "payment_intent", "amount": 1250, "currency": "gbp", "metadata": {"order": "o"}}
    return {"id": "evt_1", "object": "event", "type": kind, "created": 0, "data": {"object": {**body, **intent}}}


@pytest.mark.parametrize(("price", "pence"), [("12.50", 1250), ("0.01", 1), ("100", 10000), ("7.5", 750)])
def test_stripe_counts_in_minor_units(price: str, pence: int) -> None:
    assert minor_units(price) == pence


def test_a_signed_notification_is_read() -> None:
    body, headers = signed(intent_event())
    got = provider().verify(body, headers)
    assert (got.order, got.paid, got.reference, got.amount, got.currency) == ("o", True, "pi_1", 1250, "gbp")
    failed = intent_event("payment_intent.payment_failed", last_payment_error={"message": "Your card was declined."})
    body, headers = signed(failed)
    declined = provider().verify(body, headers)
    assert not declined.paid and declined.message == "Your card was declined."


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: signed(intent_event(), secret="whsec_other"), "signature does not verify"),
        (lambda: (json.dumps(intent_event()).encode(), {}), "signature does not verify"),
        (lambda: signed(intent_event("charge.dispute.created")), "no charge.dispute.created notifications"),
        (lambda: signed(intent_event(metadata={})), "names no order"),
    ],
)
def test_a_notification_that_is_not_stripes_or_not_ours_is_refused(make: object, reason: str) -> None:
    body, headers = make()  # type: ignore[operator]
    with pytest.raises(BadNotification, match=reason):
        provider().verify(body, headers)


async def test_a_provider_that_cannot_be_reached_answers_with_a_sentence() -> None:
    down = provider(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    order = {"id": "http://shop.test/actor/orders/1001", "price": "12.50", "priceCurrency": "GBP"}
    with pytest.raises(PaymentError, match="could not start the payment"):
        await down.intent(order)
    with pytest.raises(PaymentError, match="refused the refund"):
        await down.refund({**order, "paymentIntent": "pi_1"})


async def test_free_and_manual_take_no_notifications_and_refund_nothing_by_api() -> None:
    for simple in (Free(), Manual()):
        with pytest.raises(BadNotification):
            simple.verify(b"{}", {})
        assert await simple.refund({"id": "o"}) is None

"""The payment providers' own rules (actors/shop/payments/): which provider an order is paid through, Stripe's
amounts in minor units, its webhook signature check, and a provider that cannot be reached answering with a
sentence (the checkout shows it; nothing is written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.context import StripeKeys
from actors.shop.payments import BadNotification, PartRefund, PaymentError
from actors.shop.payments.simple import Free, Manual
from actors.shop.payments.stripe_provider import StripeProvider, minor_units
from tests.support.localstripe import GOOD_CARD, PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, LocalStripe, signed
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


async def test_a_part_refund_gives_back_its_amount_once_and_a_whole_refund_what_is_left(tmp_path: Path) -> None:
    """Against a real localstripe: a part refund gives back its amount; the whole refund after it gives back the
    rest of the payment. (Each refund carries an idempotency key; localstripe does not replay by key as Stripe
    does, so that part is Stripe's promise, not tested here.)"""
    running = LocalStripe.start(tmp_path / "localstripe.log")
    try:
        card = StripeProvider(StripeKeys(SECRET_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET, api_base=running.url))
        order = {"id": "http://shop.test/actor/orders/1001", "price": "30.00", "priceCurrency": "GBP"}
        intent = (await card.intent(order))["id"]
        assert running.pay(intent, GOOD_CARD)["status"] == "succeeded"
        paid = {**order, "paymentIntent": intent}
        await card.refund(paid, PartRefund(amount="10.00", key="1001-2"))
        assert [r["amount"] for r in running.refunds_of(intent)] == [1000]
        await card.refund({**paid, "price": "20.00"})  # the order as the shop keeps it after the part refund
        assert sorted(r["amount"] for r in running.refunds_of(intent)) == [1000, 2000]
    finally:
        running.stop()

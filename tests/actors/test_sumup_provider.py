"""The `sumup` provider's own rules (actors/shop/payments/sumup_provider.py): the checkout reference is the order's
id (with the attempt after a declined card), SumUp's major units become minor ones, the only thing read from an
(unsigned) notification is the checkout's id, and what SumUp's API says about that checkout decides: a checkout of
another merchant is refused, a pending one settles nothing, and SumUp unreachable is a sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from actors.context import SumUpKeys
from actors.shop.payments import BadNotification, PartRefund, PaymentError
from actors.shop.payments.sumup_provider import (
    ProviderDown,
    SumUpProvider,
    Unsettled,
    checkout_id_in,
    minor_units_of,
    order_of,
    reference_of,
)
from tests.support.processes import free_port
from tests.support.sumup_fake import API_KEY, MERCHANT_CODE, SumUpFake

ORDER = {"id": "http://shop.test/orders/1001", "price": "12.50", "priceCurrency": "GBP", "orderNumber": "1001"}
URLS = {"return_url": "http://shop.test/payments/sumup", "redirect_url": "http://shop.test/orders/1001?token=t"}


@pytest.fixture
def sumup() -> Iterator[SumUpFake]:
    running = SumUpFake.start()
    try:
        yield running
    finally:
        running.stop()


def test_the_reference_is_the_order_then_its_attempt() -> None:
    assert reference_of(ORDER) == ORDER["id"]
    assert reference_of({**ORDER, "paymentAttempts": 2}) == f"{ORDER['id']}#attempt-2"
    assert order_of(reference_of({**ORDER, "paymentAttempts": 2})) == ORDER["id"] == order_of(ORDER["id"])


@pytest.mark.parametrize(("amount", "pence"), [(12.5, 1250), (0.1, 10), (1999.99, 199999), (None, 0)])
def test_sumup_major_units_become_minor(amount: float | None, pence: int) -> None:
    assert minor_units_of(amount) == pence


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{nope", "not JSON"),
        (b"[]", "names no checkout"),
        (json.dumps({"event_type": "CHECKOUT_STATUS_CHANGED"}).encode(), "names no checkout"),
        (json.dumps({"event_type": "CHECKOUT_STATUS_CHANGED", "id": 7}).encode(), "names no checkout"),
        (json.dumps({"event_type": "SOMETHING_ELSE", "id": "c"}).encode(), "no 'SOMETHING_ELSE' notifications"),
    ],
)
def test_a_notification_that_names_no_checkout_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(BadNotification, match=reason):
        checkout_id_in(body)


async def test_the_api_decides_not_the_body(sumup: SumUpFake) -> None:
    ours = SumUpProvider(SumUpKeys(API_KEY, MERCHANT_CODE, sumup.url))
    made = await ours.intent(ORDER, **URLS)
    assert made["url"] == f"{sumup.url}/pay/{made['id']}"
    claim = json.dumps({"event_type": "CHECKOUT_STATUS_CHANGED", "id": made["id"], "status": "PAID"}).encode()
    with pytest.raises(Unsettled, match="pending"):
        await ours.notification(claim)
    sumup.pay(made["id"], notify=False)  # the notification is the test's own
    paid = await ours.notification(claim)
    assert (paid.order, paid.paid, paid.reference, paid.amount, paid.currency) == (
        ORDER["id"], True, made["id"], 1250, "GBP"
    )
    with pytest.raises(PaymentError, match="SumUp could not start the payment \\(status 409\\)"):
        await ours.intent(ORDER, **URLS)  # one checkout per reference
    other = SumUpProvider(SumUpKeys(API_KEY, "MSOMEBODY", sumup.url))
    with pytest.raises(BadNotification, match="not this shop's"):
        await other.notification(claim)
    wrong_key = SumUpProvider(SumUpKeys("sup_sk_wrong", MERCHANT_CODE, sumup.url))
    with pytest.raises(BadNotification, match="status 401"):
        await wrong_key.notification(claim)
    await ours.refund({**ORDER, "paymentIntent": made["id"]})
    await ours.refund({**ORDER, "paymentIntent": made["id"]})  # repeated (a retried cancellation): refunded once
    assert [r["amount"] for r in sumup.refunds(made["id"])] == [12.5]
    unpaid = await ours.intent({**ORDER, "id": "http://shop.test/orders/1002"}, **URLS)
    with pytest.raises(PaymentError, match="no payment to refund"):
        await ours.refund({**ORDER, "paymentIntent": unpaid["id"]})


async def test_a_part_refund_retried_before_the_shop_recorded_it_is_made_once(sumup: SumUpFake) -> None:
    """SumUp's refund takes no idempotency key: the shop reconciles with the refunds SumUp lists instead."""
    ours = SumUpProvider(SumUpKeys(API_KEY, MERCHANT_CODE, sumup.url))
    order = {**ORDER, "price": "30.00"}
    made = await ours.intent(order, **URLS)
    sumup.pay(made["id"], notify=False)
    paid = {**order, "paymentIntent": made["id"]}
    one = PartRefund(amount="10.00", key="1001-2")
    await ours.refund(paid, one)
    await ours.refund(paid, one)  # the shop stopped before recording it: the order still says 30.00 paid
    assert [r["amount"] for r in sumup.refunds(made["id"])] == [10.0]
    recorded = {**paid, "price": "20.00"}  # once recorded, the next part is refunded, once however often retried
    other = PartRefund(amount="10.00", key="1001-3")
    await ours.refund(recorded, other)
    await ours.refund(recorded, other)
    assert [r["amount"] for r in sumup.refunds(made["id"])] == [10.0, 10.0]
    await ours.refund({**paid, "price": "10.00"})  # the rest, whole
    assert [r["amount"] for r in sumup.refunds(made["id"])] == [10.0, 10.0, 10.0]
    with pytest.raises(PaymentError, match="more than is left"):
        await ours.refund({**paid, "price": "0.00"}, PartRefund(amount="5.00", key="1001-1"))


async def test_sumup_unreachable_is_a_sentence() -> None:
    down = SumUpProvider(SumUpKeys(API_KEY, MERCHANT_CODE, f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(PaymentError, match="SumUp could not start the payment \\(unavailable\\)"):
        await down.intent(ORDER, **URLS)
    with pytest.raises(ProviderDown, match="could not be asked"):
        await down.notification(json.dumps({"event_type": "CHECKOUT_STATUS_CHANGED", "id": "c"}).encode())
    with pytest.raises(PaymentError, match="refused the refund \\(unavailable\\)"):
        await down.refund({**ORDER, "paymentIntent": "c"})
    with pytest.raises(PaymentError, match="no SumUp payment"):
        await down.refund(ORDER)

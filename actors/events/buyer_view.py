"""What the buyer's ticket page says in each state of their purchase: until when a held seat is kept, in the
event's own time zone; how to pay; and, once a purchase is over, the way back to the event to buy again."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from activities import fep8a8e, ical
from actors.context import Services
from actors.events.buyer_cancel import buyer_cancel_refusal
from actors.events.purchase_states import PurchaseState
from store import objects

SOLD_OUT = "sold out"  # the shop's reason when no seat was left (or "only N tickets left")
CARD_CHECKOUT = "/pay?token="  # the shop's card checkout page; any other order link is the order's own page


def local_text(value: object, zone: str) -> str:
    """An ISO time as people read it in `zone` ("Sat 4 July 2026, 19:15 (Europe/London)"); "" when unusable."""
    if not isinstance(value, str):
        return ""
    try:
        local = ical.local_time(value, zone)
    except (ValueError, KeyError):
        return ""
    return f"{local:%a} {local.day} {local:%B %Y, %H:%M} ({zone})"


def qr_data_uri(code: str) -> str:
    """A ticket's code as a QR image the page can show (the page's policy allows data: images)."""
    import segno  # here, not at import: only a buyer's confirmed page draws one

    return str(segno.make(code, error="m", micro=False).svg_data_uri(scale=6, border=4))


async def buyer_view(services: Services, purchase: dict[str, Any]) -> dict[str, Any]:
    async with services.store.read() as session:
        row = await objects.get(session, str(purchase.get("event", "")))
    event = row.data if row is not None and row.type == "Event" else None
    zone = str((event or {}).get("timezone") or "UTC")
    state = purchase.get("state")
    order_url = purchase.get("orderUrl")
    tickets = [t for t in purchase.get("tickets") or [] if isinstance(t, dict) and isinstance(t.get("code"), str)]
    over = state in (PurchaseState.CANCELLED, PurchaseState.REFUNDED, PurchaseState.REJECTED)
    return {
        "held_until": local_text(purchase.get("paymentDueDate"), zone),
        "pays_by_card": isinstance(order_url, str) and CARD_CHECKOUT in order_url,
        "event_page": event.get("url") or event["id"] if event else None,
        "event_when": local_text(event.get("startTime"), zone) if event else "",
        "event_gone": row is not None and row.type != "Event",
        # a purchase that is over may be made again while the event still sells tickets
        "calendar_file": f"{urlsplit(event['id']).path}.ics" if event else None,
        "qr": {str(t["code"]): qr_data_uri(str(t["code"])) for t in tickets}
        if state == PurchaseState.CONFIRMED
        else {},
        "cancel_refusal": buyer_cancel_refusal(purchase, event, services.clock()),
        "buy_again": over and event is not None and fep8a8e.ticket_refusal(event) is None,
        # a purchase the shop refused as sold out may wait for seats instead
        "waitlist": (
            f"{urlsplit(str(event['id'])).path}/waitlist"
            if event is not None
            and state == PurchaseState.REJECTED
            and SOLD_OUT in str(purchase.get("reason", ""))
            and fep8a8e.ticket_refusal(event) is None
            else None
        ),
    }

"""Tickets: the N tickets an order of N issues, each with its own id and an unguessable code (schema.org
`Ticket`: `ticketNumber`, `ticketToken`). The shop builds them; the events peer reads them from the `Accept`'s
(and later the `Update`'s) Order and keeps the same ids, so both peers count the same tickets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from activities.errors import ActivityError
from activities.parse import same_origin

# Typed with Object too, like the Order: strict vocabularies refuse an object whose only type they don't know.
TICKET_TYPE = ["Object", "Ticket"]
CODE_BYTES = 16  # 128 random bits: a code cannot be guessed, only read off the ticket


@dataclass(frozen=True)
class TicketRef:
    id: str
    code: str


def ticket_id(order: str, n: int) -> str:
    return f"{order}/tickets/{n}"


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def ticket_documents(order: str, number: str, event: str, issuer: str, quantity: int) -> list[dict[str, Any]]:
    """The order's tickets, numbered 1..quantity, each with a fresh code."""
    return [
        {
            "id": ticket_id(order, n),
            "type": TICKET_TYPE,
            "ticketNumber": f"{number}-{n}",
            "ticketToken": new_code(),
            "issuedBy": issuer,
            "reservationFor": event,
            "partOfOrder": order,
        }
        for n in range(1, quantity + 1)
    ]


def parse_tickets(order: dict[str, Any], quantity: int) -> list[TicketRef]:
    """The tickets an Order carries: exactly `quantity`, distinct, each under the order's own id."""
    order_id = order.get("id")
    tickets = order.get("tickets")
    if not isinstance(order_id, str) or not isinstance(tickets, list):
        raise ActivityError("the order must list its tickets")
    if len(tickets) != quantity:
        raise ActivityError(f"the order lists {len(tickets)} tickets for a quantity of {quantity}")
    refs: list[TicketRef] = []
    for ticket in tickets:
        if not isinstance(ticket, dict):
            raise ActivityError("each ticket must be an object with an id and a ticketToken")
        tid, code = ticket.get("id"), ticket.get("ticketToken")
        if not isinstance(tid, str) or not tid.startswith(f"{order_id}/tickets/") or not same_origin(tid, order_id):
            raise ActivityError("each ticket's id must be under its order's id")
        if not isinstance(code, str) or not 16 <= len(code) <= 64:
            raise ActivityError("each ticket needs a ticketToken of 16 to 64 characters")
        refs.append(TicketRef(tid, code))
    if len({r.id for r in refs}) != len(refs):
        raise ActivityError("the order lists the same ticket twice")
    return refs

"""Names of the vocabulary: contexts, media types, the public collection, and who an activity is addressed to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

SCHEMA_TERMS = {
    "schema": "http://schema.org/",
    "Order": "schema:Order",
    "orderNumber": "schema:orderNumber",
    "orderStatus": "schema:orderStatus",
    "orderedItem": {"@id": "schema:orderedItem", "@type": "@id"},
    "customer": "schema:customer",
    "seller": {"@id": "schema:seller", "@type": "@id"},
    "broker": {"@id": "schema:broker", "@type": "@id"},
    "acceptedOffer": {"@id": "schema:acceptedOffer", "@type": "@id"},
    "orderDate": "schema:orderDate",
    "paymentDueDate": "schema:paymentDueDate",
    "paymentMethod": "schema:paymentMethod",
    "event": "https://rose-ash.org/ns#event",  # the shop's private copy of an order: the event as it was bought
    "Ticket": "schema:Ticket",
    "ticketNumber": "schema:ticketNumber",
    "ticketToken": "schema:ticketToken",
    "issuedBy": {"@id": "schema:issuedBy", "@type": "@id"},
    "reservationFor": {"@id": "schema:reservationFor", "@type": "@id"},
    "partOfOrder": {"@id": "schema:partOfOrder", "@type": "@id"},
    "tickets": {"@id": "https://rose-ash.org/ns#tickets", "@type": "@id"},
    "email": "schema:email",
    "price": "schema:price",
    "priceCurrency": "schema:priceCurrency",
    "quantity": "schema:orderQuantity",
    "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "schema:remainingAttendeeCapacity",
    "timezone": "schema:timezone",
    "sold": {"@id": "https://rose-ash.org/ns#sold", "@type": "@id"},
    "series": {"@id": "https://rose-ash.org/ns#series", "@type": "@id"},  # an event's series: its dates in order
    "upcomingEvents": {"@id": "https://rose-ash.org/ns#upcomingEvents", "@type": "@id"},
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "address": "schema:address",
    "buyerCancelHours": "https://rose-ash.org/ns#buyerCancelHours",  # buyers may cancel until N hours before
    "allocated": {"@id": "https://rose-ash.org/ns#allocated", "@type": "@id"},
    "formerType": {"@id": "as:formerType", "@type": "@vocab"},  # "Event" is the AS2 type, not a relative URL
    "Hashtag": "as:Hashtag",  # not in the AS2 context document; Mastodon declares it the same way
    # FEP-8a8e events: schema.org terms, and Mobilizon's for how people take part
    "mz": "https://joinmobilizon.org/ns#",
    "eventStatus": "schema:eventStatus",
    "previousStartTime": "schema:previousStartDate",
    "organizers": {"@id": "schema:organizer", "@type": "@id"},
    "category": "schema:category",
    "PostalAddress": "schema:PostalAddress",
    "streetAddress": "schema:streetAddress",
    "addressLocality": "schema:addressLocality",
    "postalCode": "schema:postalCode",
    "addressCountry": "schema:addressCountry",
    "VirtualLocation": "schema:VirtualLocation",
    "joinMode": "mz:joinMode",
    "externalParticipationUrl": {"@id": "mz:externalParticipationUrl", "@type": "@id"},
    "attendees": {"@id": "schema:attendee", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
}

CONTEXT: list[object] = [AS_CONTEXT, SECURITY_CONTEXT, SCHEMA_TERMS]

AS2_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JSON_MEDIA_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})


def wants_activity_json(accept_header: str) -> bool:
    """Content negotiation: does this Accept header ask for AS2 JSON rather than HTML?"""
    accept = accept_header.lower()
    return (
        "application/activity+json" in accept
        or ("application/ld+json" in accept and "activitystreams" in accept)
        or accept.strip().startswith("application/json")
    )


def is_public(address: str) -> bool:
    return address in PUBLIC_ALIASES


ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")
BLIND_FIELDS = ("bto", "bcc")

# The Activity types of the Activity Vocabulary (§3.1): anything else posted to an outbox is a bare object.
ACTIVITY_TYPES = frozenset(
    {
        "Accept", "Add", "Announce", "Arrive", "Block", "Create", "Delete", "Dislike", "Flag", "Follow", "Ignore",
        "Invite", "Join", "Leave", "Like", "Listen", "Move", "Offer", "Question", "Read", "Reject", "Remove",
        "TentativeAccept", "TentativeReject", "Travel", "Undo", "Update", "View",
    }
)  # fmt: skip


def recipients(activity: Mapping[str, Any], sender: str) -> list[str]:
    """Every addressed id except Public and the sender itself, in order, without repeats."""
    seen: dict[str, None] = {}
    for field in ADDRESS_FIELDS:
        value = activity.get(field) or []
        for address in value if isinstance(value, list) else [value]:
            if isinstance(address, str) and not is_public(address) and address != sender:
                seen.setdefault(address, None)
    return list(seen)

"""Tables. Everything is generic: actor kinds keep their documents in `objects` and their sets in
`collection_items`, so the core schema never needs to know a kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

URL = String(2048)
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    pass


class ActorKey(Base):
    __tablename__ = "actor_keys"
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class PeerSecret(Base):
    """Random secrets made on first start (the key that signs anonymous session cookies and CSRF tokens)."""

    __tablename__ = "peer_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float)


class WebSession(Base):
    """A signed-in browser session, kept server-side so that logging out ends it; `id` is the digest of the
    cookie's token (the store never holds a usable token)."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    member: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # a member's, when signed in


class StoredObject(Base):
    """A document this peer serves at its `id`. `readers` limits who may fetch a private one."""

    __tablename__ = "objects"
    id: Mapped[str] = mapped_column(URL, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    readers: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    capability: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_objects_actor_type", "actor", "type"),)


class CollectionItem(Base):
    """One member of an ordered collection; `seq` gives the order and the keyset for paging."""

    __tablename__ = "collection_items"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collection: Mapped[str] = mapped_column(URL)
    item: Mapped[str] = mapped_column(URL)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("collection", "item", name="uq_collection_item"),
        Index("ix_collection_items_collection_seq", "collection", "seq"),
        Index("ix_collection_items_item", "item"),
    )


class CollectionSize(Base):
    """How many items a collection holds, kept by `store.collections` in the transaction that adds or removes
    them, so `totalItems` is one primary-key read instead of a count over the collection."""

    __tablename__ = "collection_sizes"
    collection: Mapped[str] = mapped_column(URL, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class InboxActivity(Base):
    """Every activity accepted at an inbox, kept before answering 202; its id makes replays no-ops."""

    __tablename__ = "inbox_activities"
    id: Mapped[str] = mapped_column(URL, primary_key=True)
    actor: Mapped[str] = mapped_column(URL)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    recipient: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[float] = mapped_column(Float, index=True)  # GET /actor/inbox pages by it


class FanOut(Base):
    """An emitted activity whose recipients are still to be expanded into deliveries."""

    __tablename__ = "fanouts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(URL)
    actor: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_fanouts_due", "state", "next_attempt_at"),)


class Delivery(Base):
    """One signed POST of one activity to one inbox, with its retry state."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(URL)
    actor: Mapped[str] = mapped_column(String(64))
    inbox: Mapped[str] = mapped_column(URL)
    host: Mapped[str] = mapped_column(String(255))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("activity_id", "inbox", name="uq_delivery_activity_inbox"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column(Float)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)


class RemoteActor(Base):
    __tablename__ = "remote_actors"
    id: Mapped[str] = mapped_column(URL, primary_key=True)
    inbox: Mapped[str] = mapped_column(URL)
    shared_inbox: Mapped[str | None] = mapped_column(URL, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[float] = mapped_column(Float)


class RemoteKey(Base):
    __tablename__ = "remote_keys"
    key_id: Mapped[str] = mapped_column(URL, primary_key=True)
    owner: Mapped[str] = mapped_column(URL)
    public_pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[float] = mapped_column(Float)


class Follow(Base):
    """A follow relation in either direction; `direction` is "in" (they follow us) or "out"."""

    __tablename__ = "follows"
    id: Mapped[str] = mapped_column(URL, primary_key=True)
    local_actor: Mapped[str] = mapped_column(String(64))
    remote_actor: Mapped[str] = mapped_column(URL)
    direction: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_follows_pair", "local_actor", "remote_actor", "direction"),)


class RelaySubscription(Base):
    """Our subscription to a fediverse relay: the Follow we sent (its state lives in `follows`), the relay's
    actor, and the style of that Follow: "mastodon" (object Public) or "litepub" (object the relay actor)."""

    __tablename__ = "relays"
    follow_id: Mapped[str] = mapped_column(URL, primary_key=True)
    actor: Mapped[str] = mapped_column(URL)
    inbox: Mapped[str] = mapped_column(URL)
    style: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_relays_actor", "actor"),)


class Counter(Base):
    """A bounded counter changed by one conditional UPDATE, so concurrent writers cannot overshoot."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(URL, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
    limit: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MediaFile(Base):
    """An uploaded image, kept as clean re-encoded variants in the media storage; `id` is the digest of the
    full variant, so the same picture uploaded twice is one file."""

    __tablename__ = "media_files"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt: Mapped[str] = mapped_column(Text)
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{name, width, height, size}], narrowest first
    created_at: Mapped[float] = mapped_column(Float)


class ScheduledPublication(Base):
    """A draft due to be published (and federated) at `due_at`; the row is deleted in the transaction that
    publishes it, so it publishes once however many workers look."""

    __tablename__ = "scheduled_publications"
    object_id: Mapped[str] = mapped_column(URL, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[float] = mapped_column(Float, index=True)
    created_at: Mapped[float] = mapped_column(Float)


class SlugRedirect(Base):
    """An object's old address, answered with a permanent redirect to where it lives now."""

    __tablename__ = "slug_redirects"
    old_id: Mapped[str] = mapped_column(URL, primary_key=True)
    new_id: Mapped[str] = mapped_column(URL, index=True)
    created_at: Mapped[float] = mapped_column(Float)


class MailMessage(Base):
    """One email, written by `mail.enqueue` in the transaction that causes it and sent by the mail worker,
    which builds `raw` from `draft` when it was queued unbuilt (building costs more than the insert).
    `key` makes a repeated cause (a retried publish) a no-op; `message_id` is the Message-ID header, the same
    on every attempt, so a message resent after a crash between send and mark is recognisable as a duplicate."""

    __tablename__ = "mail_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(512), nullable=True, unique=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)  # the MIME message, once built
    # What it is built from; None is SQL NULL (not JSON null), so "has a draft" is `draft IS NOT NULL`.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_mail_messages_due", "state", "next_attempt_at"),)


class TicketCode(Base):
    """A ticket the events peer holds, found at the door by its code: `code` is the digest of the ticket's
    `ticketToken` (the key of the look-up, so a code is never searched for among the tickets)."""

    __tablename__ = "ticket_codes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket: Mapped[str] = mapped_column(URL)
    event: Mapped[str] = mapped_column(URL)
    purchase: Mapped[str] = mapped_column(URL)
    number: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class CheckIn(Base):
    """A ticket admitted at the door. The ticket is the primary key and the row is written by an INSERT that does
    nothing on conflict, so two scanners at once admit a ticket once."""

    __tablename__ = "checkins"
    ticket: Mapped[str] = mapped_column(URL, primary_key=True)
    event: Mapped[str] = mapped_column(URL, index=True)
    checked_in_at: Mapped[float] = mapped_column(Float)
    # "page" (staff's phone), "device" (the admin token), "member" (a member's personal access token)
    by: Mapped[str] = mapped_column(String(16))


class WaitlistEntry(Base):
    """One person waiting for a sold-out event's seats (events peer). `email_digest` makes one entry per address
    per event; `token` is the secret of the link in their emails (a capability, like a purchase's token). While
    `state` is "offered", `quantity` seats are kept for them until `offered_until`."""

    __tablename__ = "waitlist_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(URL)
    email_digest: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[float] = mapped_column(Float)
    offers: Mapped[int] = mapped_column(Integer, default=0)  # how many times seats were offered (the mail key)
    offered_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    purchase: Mapped[str | None] = mapped_column(URL, nullable=True)

    __table_args__ = (
        UniqueConstraint("event", "email_digest", name="uq_waitlist_entries_event_email"),
        Index("ix_waitlist_entries_event_state", "event", "state", "id"),
        Index("ix_waitlist_entries_due", "state", "offered_until"),
    )


class Member(Base):
    """A member of the cooperative (account service). `email` is kept lower-cased; `password_hash` is argon2id,
    empty until an invited member chooses a password; `email_verified_at` is None until the link in the
    verification email is followed."""

    __tablename__ = "members"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email_verified_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    password_changed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class MemberRole(Base):
    """A role given to a member: admin, editor, organiser, box_office or shop_staff (actors/roles.py)."""

    __tablename__ = "member_roles"
    member_id: Mapped[str] = mapped_column(String(36), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(254))
    granted_at: Mapped[float] = mapped_column(Float)


class MemberLink(Base):
    """A one-time link emailed to a member (verify an address, reset a password, confirm a new address, accept an
    invitation). `id` is the digest of the link's secret; `email` is the address it was sent to."""

    __tablename__ = "member_links"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[str] = mapped_column(String(36), ForeignKey("members.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_member_links_member_purpose", "member_id", "purpose"),)


class OAuthCode(Base):
    """An OpenID Connect authorization code (account service): single use, short-lived, bound to its client,
    exact redirect URI and PKCE challenge. `id` is the digest of the code."""

    __tablename__ = "oauth_codes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(String(36), ForeignKey("members.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(URL)
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    session_id: Mapped[str] = mapped_column(String(64))  # the account session it was issued in (the `sid` claim)
    auth_time: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class OAuthToken(Base):
    """An access, refresh or personal (client-to-server) token (account service); `id` is its digest. A refresh
    token is rotated: using it sets `replaced_by`, and using a replaced one revokes the whole chain."""

    __tablename__ = "oauth_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # access | refresh | personal
    client_id: Mapped[str] = mapped_column(String(64))  # the peer it is for (its audience)
    member_id: Mapped[str] = mapped_column(String(36), ForeignKey("members.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(500))
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    replaced_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SigningKey(Base):
    """A key the account service signs ID tokens with (published in its JWKS); retired keys stay published
    until the tokens they signed have expired."""

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditEntry(Base):
    """Who did what, when, on this peer (posts, events, approvals, refunds, role changes); admins read it."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    who: Mapped[str] = mapped_column(String(254))  # a member's email, or "admin token"
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(URL)
    detail: Mapped[str] = mapped_column(String(2000), default="")

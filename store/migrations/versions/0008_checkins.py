"""door check-in: tickets by code, and the check-ins

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00

The events peer finds a ticket by the digest of its code (`ticket_codes`, written when the shop's Accept lists the
order's tickets) and records each admitted ticket once (`checkins`, the ticket id its primary key).
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=2048), nullable=False),
        sa.Column("event", sa.String(length=2048), nullable=False),
        sa.Column("purchase", sa.String(length=2048), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "checkins",
        sa.Column("ticket", sa.String(length=2048), nullable=False),
        sa.Column("event", sa.String(length=2048), nullable=False),
        sa.Column("checked_in_at", sa.Float(), nullable=False),
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("ticket"),
    )
    op.create_index("ix_checkins_event", "checkins", ["event"])
    _index_existing_tickets()


def _index_existing_tickets() -> None:
    """The tickets of purchases accepted before this revision, so their codes work at the door too."""
    objects = sa.table(
        "objects",
        sa.column("id", sa.String),
        sa.column("type", sa.String),
        sa.column("data", sa.JSON),
        sa.column("created_at", sa.Float),
    )
    codes = sa.table(
        "ticket_codes",
        sa.column("code", sa.String),
        sa.column("ticket", sa.String),
        sa.column("event", sa.String),
        sa.column("purchase", sa.String),
        sa.column("number", sa.String),
        sa.column("created_at", sa.Float),
    )
    bind = op.get_bind()
    seen: set[str] = set()
    query = sa.select(objects.c.id, objects.c.data, objects.c.created_at).where(objects.c.type == "TicketPurchase")
    for purchase, data, created in bind.execute(query):
        for n, ticket in enumerate(data.get("tickets") or [], 1):
            code = hashlib.sha256(str(ticket["code"]).encode()).hexdigest()
            if code in seen:
                continue
            seen.add(code)
            bind.execute(
                codes.insert().values(
                    code=code,
                    ticket=ticket["id"],
                    event=data["event"],
                    purchase=purchase,
                    number=f"{data.get('orderNumber', '')}-{n}",
                    created_at=created,
                )
            )


def downgrade() -> None:
    op.drop_index("ix_checkins_event", table_name="checkins")
    op.drop_table("checkins")
    op.drop_table("ticket_codes")

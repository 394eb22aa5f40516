"""the waiting list of sold-out events

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:00:00

The events peer keeps one row per person waiting for an event's seats; seats freed are offered to them in turn.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event", sa.String(length=2048), nullable=False),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.Float(), nullable=False),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("offered_until", sa.Float(), nullable=True),
        sa.Column("purchase", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event", "email_digest", name="uq_waitlist_entries_event_email"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_waitlist_entries_event_state", "waitlist_entries", ["event", "state", "id"])
    op.create_index("ix_waitlist_entries_due", "waitlist_entries", ["state", "offered_until"])


def downgrade() -> None:
    op.drop_index("ix_waitlist_entries_due", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_event_state", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")

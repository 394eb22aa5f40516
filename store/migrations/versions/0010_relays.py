"""relay subscriptions

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 17:00:00

A peer's subscriptions to fediverse relays: the Follow it sent (whose state is the `follows` row of the same id),
the relay's actor and inbox, and the Follow's style (Mastodon's object Public, or LitePub's object the relay actor).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("follow_id", sa.String(length=2048), nullable=False),
        sa.Column("actor", sa.String(length=2048), nullable=False),
        sa.Column("inbox", sa.String(length=2048), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("follow_id"),
    )
    op.create_index("ix_relays_actor", "relays", ["actor"])


def downgrade() -> None:
    op.drop_index("ix_relays_actor", table_name="relays")
    op.drop_table("relays")

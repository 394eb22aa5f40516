"""collection sizes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 00:00:00

A per-collection item count, so a collection's totalItems is a primary-key read rather than a count(*).
Backfilled from the items already stored.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_sizes",
        sa.Column("collection", sa.String(length=2048), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection"),
    )
    op.execute(
        "INSERT INTO collection_sizes (collection, size) "
        "SELECT collection, count(*) FROM collection_items GROUP BY collection"
    )


def downgrade() -> None:
    op.drop_table("collection_sizes")

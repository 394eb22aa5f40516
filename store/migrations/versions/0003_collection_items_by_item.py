"""collection items by item

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00

An index on collection_items.item, so "which collections hold this item" (a remote Delete withdrawing an
event from every post that lists it) is an index look-up, not a scan of every collection.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_collection_items_item", "collection_items", ["item"])


def downgrade() -> None:
    op.drop_index("ix_collection_items_item", table_name="collection_items")

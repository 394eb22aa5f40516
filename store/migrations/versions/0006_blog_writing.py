"""media files, scheduled publications, slug redirects

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00

Uploaded images (their clean variants live in the media storage, their facts here), drafts due to be
published at a time, and the old addresses of posts whose slug changed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scheduled_publications",
        sa.Column("object_id", sa.String(length=2048), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("object_id"),
    )
    op.create_index("ix_scheduled_publications_due_at", "scheduled_publications", ["due_at"])
    op.create_table(
        "slug_redirects",
        sa.Column("old_id", sa.String(length=2048), nullable=False),
        sa.Column("new_id", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("old_id"),
    )
    op.create_index("ix_slug_redirects_new_id", "slug_redirects", ["new_id"])


def downgrade() -> None:
    op.drop_index("ix_slug_redirects_new_id", table_name="slug_redirects")
    op.drop_table("slug_redirects")
    op.drop_index("ix_scheduled_publications_due_at", table_name="scheduled_publications")
    op.drop_table("scheduled_publications")
    op.drop_table("media_files")

"""inbox activities by time of receipt

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:00

`GET /actor/inbox` pages the received activities newest first, by receipt time.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbox_activities_received_at", "inbox_activities", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_activities_received_at", table_name="inbox_activities")

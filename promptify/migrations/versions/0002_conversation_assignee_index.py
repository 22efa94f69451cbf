"""index conversations by assignee ("assigned to me" inbox filter)

The inbox's "assigned to me" filter (`assignee_id = me AND status = 'open'`, newest first) had
only the (workspace_id, last_message_at) index to walk: with few assigned conversations it read
the whole workspace (bench/RESULTS.md: 0.3 s on PostgreSQL, 2.6 s on SQLite at 1,000,000
conversations). This index answers it directly, and also serves the `ON DELETE SET NULL` of
the assignee foreign key when an operator is deleted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 07:00:00

"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_assignee_id"),
            ["assignee_id", "status", "last_message_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_assignee_id"))

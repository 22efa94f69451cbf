"""attention and teamwork: read marks, notes and events, operator profile

Operators' read marks per conversation and the visitor's own; who spoke last; a version per
contact for the widget's ETag; notes and events (`activity`), which the widget API never reads;
each operator's time zone, email choice and session generation. Existing conversations count as
read by their visitor up to the newest agent message, so no old reply lights a badge.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:21:32

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["operator.id"],
            name=op.f("fk_activity_assignee_id_operator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_activity_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_activity_operator_id_operator"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_conversation_id"), ["conversation_id", "id"], unique=False
        )

    op.create_table(
        "operator_read",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_operator_read_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operator.id"],
            name=op.f("fk_operator_read_operator_id_operator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_id", "conversation_id", name=op.f("pk_operator_read")),
    )
    with op.batch_alter_table("operator_read", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_read_conversation_id"), ["conversation_id"], unique=False
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("widget_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_author", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("last_contact_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "contact_read_message_id", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )

    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False)
        )
        batch_op.add_column(
            sa.Column("notify_email", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "session_generation", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )

    op.execute(
        "UPDATE conversation SET "
        "last_author = (SELECT m.author FROM message m WHERE m.conversation_id = conversation.id "
        "ORDER BY m.id DESC LIMIT 1), "
        "last_contact_message_id = (SELECT max(m.id) FROM message m "
        "WHERE m.conversation_id = conversation.id AND m.author = 'contact'), "
        "contact_read_message_id = coalesce((SELECT max(m.id) FROM message m "
        "WHERE m.conversation_id = conversation.id AND m.author = 'agent'), 0)"
    )


def downgrade():
    with op.batch_alter_table("operator", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
        batch_op.drop_column("notify_email")
        batch_op.drop_column("time_zone")

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("contact_read_message_id")
        batch_op.drop_column("last_contact_message_id")
        batch_op.drop_column("last_author")

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("widget_version")

    with op.batch_alter_table("operator_read", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_read_conversation_id"))

    op.drop_table("operator_read")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_conversation_id"))

    op.drop_table("activity")

"""failure log cap: count the refused identifications past the cap, index the trim

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:35:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failures_dropped", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("identify_failure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_identify_failure_workspace_id_id", ["workspace_id", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("identify_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_identify_failure_workspace_id_id")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("failures_dropped")

"""index organizations by name for the directory's alphabetical keyset paging

Without it every Organizations page sorted all of a workspace's organizations (bench/RESULTS.md:
69 ms at 100,000 organizations).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 07:30:00

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_workspace_id"), ["workspace_id", "name", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_workspace_id"))

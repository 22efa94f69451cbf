"""trust lifecycle: verified sessions bound to their key and deadline, provenance, claims

Sessions record the key that verified them, when, and until when (`verified` goes: a session
verified before this release carries no recorded proof, so it answers `session_expired` and the
widget signs in again). Messages keep the thumbprint behind their verified mark; organizations
and emails remember whether a signed token asserted them; keys remember their last use; failures
remember the visitor they were about.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("widget_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column("verified")
        batch_op.create_index(
            "ix_widget_session_workspace_id_verified_key",
            ["workspace_id", "verified_key"],
            unique=False,
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("email_folded", sa.String(length=320), nullable=True))
        batch_op.create_index(
            "ix_contact_workspace_id_email_folded", ["workspace_id", "email_folded"], unique=False
        )
    # SQLite's lower() folds ASCII only; the application folds every later write in full
    op.execute("UPDATE contact SET email_folded = lower(email) WHERE email IS NOT NULL")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("identify_failure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_identify_failure_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identify_failure_contact_id_contact"),
            "contact",
            ["contact_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("identify_failure", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_identify_failure_contact_id_contact"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_identify_failure_contact_id"))
        batch_op.drop_column("contact_id")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("last_verified_at")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_workspace_id_email_folded")
        batch_op.drop_column("email_folded")
        batch_op.drop_column("email_verified")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("verified")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("verified_key")
    with op.batch_alter_table("widget_session", schema=None) as batch_op:
        batch_op.drop_index("ix_widget_session_workspace_id_verified_key")
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_column("ended_at")
        batch_op.drop_column("verified_until")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_key")

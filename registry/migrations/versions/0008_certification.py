"""officer revocation: when and why (an officer who left is not a key compromise)

Revision ID: 0009_signing
Revises: 0010_ingest
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_certification"
down_revision = "0007_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("officers") as b:
        b.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("revocation_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("officers") as b:
        b.drop_column("revocation_reason")
        b.drop_column("revoked_at")

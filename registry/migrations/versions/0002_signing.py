"""signing: certified copies keep all their copies, the PAdES level and the last failure

Revision ID: 0002_signing
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_signing"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certified_copies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_document_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("level", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certified_copies", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("level")
        batch_op.drop_column("signed_document_ids")

"""certification requests claimed with a lease (owner, expiry): a batch killed mid-signing is
put back in the queue at the next start or when its lease expires

Revision ID: 0012_cert_lease
Revises: 0011_backlog_reported
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_cert_lease"
down_revision = "0011_backlog_reported"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certification_requests") as b:
        b.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certification_requests") as b:
        b.drop_column("lease_until")
        b.drop_column("lease_owner")

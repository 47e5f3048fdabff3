"""a backlog run remembers when its closing report was given (a run killed before it reported is
resumed as the same run)

Revision ID: 0011_backlog_reported
Revises: 0010_units
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_backlog_reported"
down_revision = "0010_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backlog_runs") as b:
        b.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE backlog_runs SET reported_at = finished_at WHERE state = 'finished'")


def downgrade() -> None:
    with op.batch_alter_table("backlog_runs") as b:
        b.drop_column("reported_at")

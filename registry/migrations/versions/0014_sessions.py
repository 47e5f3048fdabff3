"""staff sessions held on the server (sign-out ends every copy of the cookie)

Revision ID: 0014_sessions
Revises: 0013_dossier_flow
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_sessions"
down_revision = "0013_dossier_flow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_why", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_sessions_username", "staff_sessions", ["username"])


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_username", table_name="staff_sessions")
    op.drop_table("staff_sessions")

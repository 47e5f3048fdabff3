"""units of the office; each staff account belongs to one

Revision ID: 0010_units
Revises: 0009_web
"""
from alembic import op
import sqlalchemy as sa

revision = "0010_units"
down_revision = "0009_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False, server_default="commune"),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_units_parent_code", "units", ["parent_code"])
    with op.batch_alter_table("staff") as b:
        b.add_column(sa.Column("unit_code", sa.String(length=64), nullable=True))
        b.create_index("ix_staff_unit_code", ["unit_code"])


def downgrade() -> None:
    with op.batch_alter_table("staff") as b:
        b.drop_index("ix_staff_unit_code")
        b.drop_column("unit_code")
    op.drop_index("ix_units_parent_code", table_name="units")
    op.drop_table("units")

"""Merge the two heads (0002_signing and 0004_staff grew side by side from 0001 in the first
session) into one line, and add OCR progress to the ingest journal.

From here on the history is linear: every new revision revises the single head. A test
(tests/test_structure.py) fails when a second head appears.

Revision ID: 0005_merge
Revises: 0002_signing, 0004_staff
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_merge"
down_revision = ("0002_signing", "0003_staff")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_journal") as t:
        t.add_column(sa.Column("pages_total", sa.Integer(), nullable=True))
        t.add_column(sa.Column("pages_done", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ingest_journal") as t:
        t.drop_column("pages_done")
        t.drop_column("pages_total")

"""Documents: identity by input, not by output bytes (issue 13).

A scanned document is the same document when it comes from the same input pages: the new
``content_key`` (sha256 over the source files' sha256 and page ranges, unique). The stored PDF's
``sha256`` stops being unique: two different scans whose searchable PDFs happen to coincide are
two documents that share one file in the content-addressed store.

Revision ID: 0010_ingest
Revises: 0006_once
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_ingest"
down_revision = "0006_once"
branch_labels = None
depends_on = None

NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sha_unique_name() -> str | None:
    for uc in sa.inspect(op.get_bind()).get_unique_constraints("documents"):
        if uc.get("column_names") == ["sha256"]:
            return uc.get("name") or "uq_documents_sha256"
    return None


def upgrade() -> None:
    name = _sha_unique_name()
    with op.batch_alter_table("documents", naming_convention=NAMING) as t:
        if name:
            t.drop_constraint(name, type_="unique")
        t.add_column(sa.Column("content_key", sa.String(length=64), nullable=True))
        t.create_index("ix_documents_sha256", ["sha256"], unique=False)
        t.create_unique_constraint("uq_documents_content_key", ["content_key"])


def downgrade() -> None:
    with op.batch_alter_table("documents", naming_convention=NAMING) as t:
        t.drop_constraint("uq_documents_content_key", type_="unique")
        t.drop_index("ix_documents_sha256")
        t.drop_column("content_key")
        t.create_unique_constraint("uq_documents_sha256", ["sha256"])

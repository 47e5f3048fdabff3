"""web UI: sign-in lockout and session revocation for staff, certification requests, list indexes
and the full-text index of document text (SQLite FTS5 / PostgreSQL tsvector)

Revision ID: 0007_web
Revises: 0009_signing
"""
from alembic import op
import sqlalchemy as sa

from sqlalchemy.engine import Connection

revision = "0009_web"
down_revision = "0008_certification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as b:
        b.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "certification_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("certified_copy_id", sa.Integer(), sa.ForeignKey("certified_copies.id"), nullable=True),
        sa.Column("refusal_id", sa.Integer(), sa.ForeignKey("certification_refusals.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_certification_requests_document_id", "certification_requests", ["document_id"])
    op.create_index("ix_certification_requests_status", "certification_requests", ["status"])
    op.create_index("ix_certification_requests_created_at", "certification_requests", ["created_at"])
    # the dossier list filters and sorts by these
    op.create_index("ix_dossiers_procedure_received", "dossiers", ["procedure_code", "received_at"])
    op.create_index("ix_dossiers_unit_received", "dossiers", ["unit", "received_at"])
    op.create_index("ix_dossiers_due_at", "dossiers", ["due_at"])
    op.create_index("ix_audit_object", "audit_events", ["object_type", "object_id"])
    create_fulltext(op.get_bind())


def downgrade() -> None:
    drop_fulltext(op.get_bind())
    op.drop_index("ix_audit_object", "audit_events")
    op.drop_index("ix_dossiers_due_at", "dossiers")
    op.drop_index("ix_dossiers_unit_received", "dossiers")
    op.drop_index("ix_dossiers_procedure_received", "dossiers")
    op.drop_table("certification_requests")
    with op.batch_alter_table("staff", schema=None) as b:
        b.drop_column("session_epoch")
        b.drop_column("last_login_at")
        b.drop_column("locked_until")
        b.drop_column("failed_logins")


# -- the full-text index as it was created by this revision (frozen here: a migration never imports
# live code, which may change after it).

_SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(text_folded, content='documents', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS documents_fts_ai AFTER INSERT ON documents BEGIN "
    "INSERT INTO documents_fts(rowid, text_folded) VALUES (new.id, new.text_folded); END",
    "CREATE TRIGGER IF NOT EXISTS documents_fts_ad AFTER DELETE ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, text_folded) VALUES ('delete', old.id, old.text_folded); END",
    "CREATE TRIGGER IF NOT EXISTS documents_fts_au AFTER UPDATE OF text_folded ON documents BEGIN "
    "INSERT INTO documents_fts(documents_fts, rowid, text_folded) VALUES ('delete', old.id, old.text_folded); "
    "INSERT INTO documents_fts(rowid, text_folded) VALUES (new.id, new.text_folded); END",
    "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
]


def create_fulltext(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for stmt in _SQLITE_DDL:
            conn.exec_driver_sql(stmt)
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_documents_fulltext ON documents "
                             "USING gin (to_tsvector('simple', text_folded))")


def drop_fulltext(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for t in ("documents_fts_ai", "documents_fts_ad", "documents_fts_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS documents_fts")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_documents_fulltext")

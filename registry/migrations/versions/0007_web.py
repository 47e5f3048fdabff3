"""web UI: sign-in lockout and session revocation for staff, certification requests, list indexes
and the full-text index of document text (SQLite FTS5 / PostgreSQL tsvector)

Revision ID: 0007_web
Revises: 0009_signing
"""
from alembic import op
import sqlalchemy as sa

from registry.search import create_fulltext, drop_fulltext

revision = "0007_web"
down_revision = "0009_signing"  # linear: 0005 → 0008_sync → 0006_once → 0010_ingest → 0009_signing → 0007_web
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

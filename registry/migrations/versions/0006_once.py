"""once-only that knows whose a document is: document kinds and subjects, metadata, component
states, original due dates, identity checks

Revision ID: 0006_once
Revises: 0008_sync
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0006_once"
down_revision = "0005_sync"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("procedures") as b:
        b.add_column(sa.Column("certification", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("dossiers") as b:
        b.add_column(sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("declared_late_reason", sa.Text(), nullable=True))
        b.add_column(sa.Column("identity_status", sa.String(length=16), nullable=True))
    with op.batch_alter_table("documents") as b:
        b.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="scan"))
        b.add_column(sa.Column("certified_from_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("doc_metadata", sa.JSON(), nullable=True))
        b.create_index("ix_documents_kind", ["kind"])
        b.create_index("ix_documents_certified_from_id", ["certified_from_id"])
        b.create_foreign_key("fk_documents_certified_from", "documents", ["certified_from_id"], ["id"])
    with op.batch_alter_table("components") as b:
        b.add_column(sa.Column("state", sa.String(length=24), nullable=True))
        b.add_column(sa.Column("exempt_reason", sa.String(length=24), nullable=True))
        b.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "document_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "subject_id", name="uq_document_subject"),
    )
    op.create_index("ix_document_subjects_document_id", "document_subjects", ["document_id"])
    op.create_index("ix_document_subjects_subject_id", "document_subjects", ["subject_id"])
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("verifier", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_checks_dossier_id", "identity_checks", ["dossier_id"])

    # existing rows: the due date given is the one held; reused components came from an earlier
    # component unless they are results; certified copies become their own kind; documents keep
    # their subject as a link
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE dossiers SET original_due_at = due_at WHERE apology_ref IS NULL"))
    conn.execute(sa.text("UPDATE procedures SET certification = :t WHERE name LIKE 'Chứng thực%'"), {"t": True})
    conn.execute(sa.text("UPDATE documents SET doc_metadata = '{}'"))
    conn.execute(sa.text("UPDATE components SET state = 'scanned' WHERE origin = 'scanned'"))
    conn.execute(sa.text("UPDATE components SET state = CASE WHEN EXISTS (SELECT 1 FROM results r WHERE "
                         "r.document_id = components.document_id) THEN 'reused_result' ELSE 'reused_component' END "
                         "WHERE origin = 'reused'"))
    conn.execute(sa.text("UPDATE components SET state = 'exempt', exempt_reason = 'online' WHERE origin = 'online'"))
    for cc_id, source, signed, many in conn.execute(sa.text(
            "SELECT id, source_document_id, signed_document_id, signed_document_ids FROM certified_copies")).all():
        ids = set(json.loads(many) if isinstance(many, str) else (many or []))
        if signed:
            ids.add(signed)
        for i in ids:
            conn.execute(sa.text("UPDATE documents SET kind = 'certified_copy', certified_from_id = :src WHERE id = :id"),
                         {"src": source, "id": i})
    conn.execute(sa.text("INSERT INTO document_subjects (document_id, subject_id, source, created_at) "
                         "SELECT id, subject_id, 'fields', created_at FROM documents WHERE subject_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_identity_checks_dossier_id", "identity_checks")
    op.drop_table("identity_checks")
    op.drop_index("ix_document_subjects_subject_id", "document_subjects")
    op.drop_index("ix_document_subjects_document_id", "document_subjects")
    op.drop_table("document_subjects")
    with op.batch_alter_table("components") as b:
        b.drop_column("note")
        b.drop_column("exempt_reason")
        b.drop_column("state")
    with op.batch_alter_table("documents") as b:
        b.drop_constraint("fk_documents_certified_from", type_="foreignkey")
        b.drop_index("ix_documents_certified_from_id")
        b.drop_index("ix_documents_kind")
        b.drop_column("doc_metadata")
        b.drop_column("certified_from_id")
        b.drop_column("kind")
    with op.batch_alter_table("dossiers") as b:
        b.drop_column("identity_status")
        b.drop_column("declared_late_reason")
        b.drop_column("original_due_at")
    with op.batch_alter_table("procedures") as b:
        b.drop_column("certification")

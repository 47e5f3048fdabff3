"""persons concerned by a dossier; the processing flow's holder, step due time, decision, handover;
phone, address, number of sets and fee taken at intake; the staff account each signing key belongs to

Revision ID: 0013_dossier_flow
Revises: 0012_cert_lease
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_dossier_flow"
down_revision = "0012_cert_lease"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("phone", lambda: sa.Column("phone", sa.String(length=40), nullable=False, server_default="")),
    ("address", lambda: sa.Column("address", sa.String(length=300), nullable=False, server_default="")),
    ("sets", lambda: sa.Column("sets", sa.Integer(), nullable=False, server_default="1")),
    ("fee", lambda: sa.Column("fee", sa.Integer(), nullable=False, server_default="0")),
    ("holder_unit", lambda: sa.Column("holder_unit", sa.String(length=64), nullable=True)),
    ("holder", lambda: sa.Column("holder", sa.String(length=64), nullable=True)),
    ("step_due_at", lambda: sa.Column("step_due_at", sa.DateTime(timezone=True), nullable=True)),
    ("decision", lambda: sa.Column("decision", sa.String(length=16), nullable=True)),
    ("result_document_id", lambda: sa.Column("result_document_id", sa.Integer(), nullable=True)),
    ("handover", lambda: sa.Column("handover", sa.JSON(), nullable=False, server_default="{}")),
)


def upgrade() -> None:
    op.create_table(
        "dossier_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id", "subject_id", name="uq_dossier_person"),
    )
    op.create_index("ix_dossier_persons_dossier_id", "dossier_persons", ["dossier_id"])
    op.create_index("ix_dossier_persons_subject_id", "dossier_persons", ["subject_id"])
    with op.batch_alter_table("dossiers") as b:
        for _name, col in _COLUMNS:
            b.add_column(col())
        b.create_index("ix_dossiers_holder", ["holder"])
    with op.batch_alter_table("officers") as b:
        b.add_column(sa.Column("staff_username", sa.String(length=64), nullable=True))
        b.create_index("ix_officers_staff_username", ["staff_username"])


def downgrade() -> None:
    with op.batch_alter_table("officers") as b:
        b.drop_index("ix_officers_staff_username")
        b.drop_column("staff_username")
    with op.batch_alter_table("dossiers") as b:
        b.drop_index("ix_dossiers_holder")
        for name, _col in reversed(_COLUMNS):
            b.drop_column(name)
    op.drop_index("ix_dossier_persons_subject_id", table_name="dossier_persons")
    op.drop_index("ix_dossier_persons_dossier_id", table_name="dossier_persons")
    op.drop_table("dossier_persons")

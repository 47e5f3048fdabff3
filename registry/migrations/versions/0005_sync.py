"""portal sync outbox and the backlog journal (issue 12)

Revision ID: 0008_sync
Revises: 0005_merge
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_sync"
down_revision = "0004_merge"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("dossier_code", sa.String(64), nullable=False, index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("acked_at", TZ, nullable=True),
        sa.UniqueConstraint("dossier_code", "seq", name="uq_outbox_dossier_seq"),
    )
    op.create_index("ix_outbox_state_dossier", "outbox", ["state", "dossier_code"])
    op.create_table(
        "sync_lease",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("until", TZ, nullable=True),
    )
    op.create_table(
        "backlog_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(1000), nullable=False, index=True),
        sa.Column("manifest", sa.String(1000), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
    )
    op.create_table(
        "backlog_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("backlog_runs.id"), nullable=False, index=True),
        sa.Column("rel_path", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=True),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("read", sa.JSON(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=True),
        sa.Column("result_id", sa.Integer(), sa.ForeignKey("results.id"), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.UniqueConstraint("run_id", "rel_path", name="uq_backlog_run_path"),
    )
    op.create_index("ix_backlog_state", "backlog_items", ["run_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_backlog_state", table_name="backlog_items")
    op.drop_table("backlog_items")
    op.drop_table("backlog_runs")
    op.drop_table("sync_lease")
    op.drop_index("ix_outbox_state_dossier", table_name="outbox")
    op.drop_table("outbox")

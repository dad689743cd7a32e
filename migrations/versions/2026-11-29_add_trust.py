"""add tokens, audit log, versions, restricted and soft-deleted records

Revision ID: 39cb261cdf74
Revises: 549a13bb36b1
Create Date: 2026-11-29 03:25:19.885282
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "39cb261cdf74"
down_revision: str | None = "549a13bb36b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = (
    "cases", "charges", "events", "hearings", "organizations", "outcomes", "participants", "people",
    "sentences", "sources",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_tokens_secret_hash")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_record", "audit_entries", ["record_type", "record_id", "seq"], unique=False)
    for table in RECORD_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
            batch_op.add_column(sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False))
            batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_deleted_at"), ["deleted_at"], unique=False)
            batch_op.create_index(batch_op.f(f"ix_{table}_restricted"), ["restricted"], unique=False)


def downgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_restricted"))
            batch_op.drop_index(batch_op.f(f"ix_{table}_deleted_at"))
            batch_op.drop_column("deleted_at")
            batch_op.drop_column("restricted")
            batch_op.drop_column("version")
    op.drop_index("ix_audit_entries_record", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("api_tokens")

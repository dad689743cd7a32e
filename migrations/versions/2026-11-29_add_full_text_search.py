"""add full-text search

One table holds the searchable text of people, organizations, cases and events; the full-text index
over it is database-specific: a GIN index on to_tsvector('simple', ...) on PostgreSQL, an FTS5
table kept in sync by triggers on SQLite. Both fold case and split words in any script.

Revision ID: 549a13bb36b1
Revises: c1921d54ceb3
Create Date: 2026-11-29 03:21:32.192073
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "549a13bb36b1"
down_revision: str | None = "c1921d54ceb3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "title, body, content='search_documents', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body); END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body); END",
]

# Must match app/search/service.py PG_VECTOR exactly, or the planner will not use the index.
POSTGRES_INDEX = (
    "CREATE INDEX ix_search_documents_fulltext ON search_documents USING gin "
    "(to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(body, '')))"
)


def _backfill(dialect: str) -> None:
    # The aliases themselves, space-separated (their JSON text would escape non-Latin letters).
    if dialect == "postgresql":
        aliases = "(SELECT string_agg(value, ' ') FROM json_array_elements_text(people.aliases::json))"
    else:
        aliases = "(SELECT group_concat(value, ' ') FROM json_each(people.aliases))"
    statements = [
        "INSERT INTO search_documents (record_type, record_id, title, body) "
        f"SELECT 'person', id, name || ' ' || coalesce({aliases}, ''), coalesce(description, '') FROM people",
        "INSERT INTO search_documents (record_type, record_id, title, body) "
        "SELECT 'organization', id, name, coalesce(description, '') FROM organizations",
        "INSERT INTO search_documents (record_type, record_id, title, body) "
        "SELECT 'case', id, title, coalesce(summary, '') FROM cases",
        "INSERT INTO search_documents (record_type, record_id, title, body) "
        "SELECT 'event', id, title, coalesce(description, '') || ' ' || coalesce(quote, '') FROM events",
    ]
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_type", "record_id", name=op.f("pk_search_documents")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(POSTGRES_INDEX)
    _backfill(dialect)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_documents")

"""fold the search text: no case, no accents, one normal form, the same words on both databases

The search index now holds each record's text folded (NFKD, case-folded, without combining marks, only its
words), and queries are folded the same way (app/search/service.py). This rewrites the rows written before:
a data migration, with no change to the schema. On SQLite the FTS5 triggers re-index each updated row.

Downgrade leaves the folded text in place: the previous code searches it too (it lower-cases queries),
only an accented query then finds nothing; the text as written is in the records themselves.

Revision ID: f9d51a13d057
Revises: 39cb261cdf74
Create Date: 2026-12-03 09:40:00.000000
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f9d51a13d057"
down_revision: str | None = "39cb261cdf74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA_ONLY = True  # tests/test_migrations.py: this revision changes rows, not the schema

BATCH = 1000
_WORD = re.compile(r"[^\W_]+")
DOCUMENTS = sa.table("search_documents", *(sa.column(name) for name in ("record_type", "record_id", "title", "body")))


def fold(text: str) -> str:
    # app.search.service.fold as of this revision (a migration keeps its own copy: the app's may change).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return " ".join(_WORD.findall(bare))


def upgrade() -> None:
    connection = op.get_bind()
    update = (
        sa.update(DOCUMENTS)
        .where(DOCUMENTS.c.record_type == sa.bindparam("type"), DOCUMENTS.c.record_id == sa.bindparam("id"))
        .values(title=sa.bindparam("new_title"), body=sa.bindparam("new_body"))
    )
    key = sa.tuple_(DOCUMENTS.c.record_type, DOCUMENTS.c.record_id)
    last: tuple[str, str] | None = None
    while True:  # a batch at a time, in key order, so a large index never sits in memory whole
        page = sa.select(DOCUMENTS).order_by(DOCUMENTS.c.record_type, DOCUMENTS.c.record_id).limit(BATCH)
        rows = connection.execute(page if last is None else page.where(key > sa.tuple_(*last))).all()
        if not rows:
            break
        last = (rows[-1].record_type, rows[-1].record_id)
        changed = [
            {"type": row.record_type, "id": row.record_id, "new_title": fold(row.title), "new_body": fold(row.body)}
            for row in rows
            if (fold(row.title), fold(row.body)) != (row.title, row.body)
        ]
        if changed:
            connection.execute(update, changed)


def downgrade() -> None:
    pass

"""Full-text search: keeping the index current, and turning ``q=`` into a ranked subquery."""

import re
from typing import Any

import sqlalchemy.dialects.postgresql  # noqa: F401  (registers to_tsvector & co. before func builds them)
from sqlalchemy import Float, Select, column, delete, func, insert, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidQuery
from app.search.models import SearchDocument

MAX_TERMS = 12

# On PostgreSQL the WHERE clause must spell the indexed expression exactly (constants, not bound
# parameters), or the GIN index of the migration is not used.
SIMPLE = literal_column("'simple'")
SPACE = literal_column("' '")
PG_VECTOR = func.to_tsvector(
    SIMPLE,
    func.coalesce(SearchDocument.title, literal_column("''"))
    + SPACE
    + func.coalesce(SearchDocument.body, literal_column("''")),
)
PG_WEIGHTED = func.setweight(func.to_tsvector(SIMPLE, SearchDocument.title), literal_column("'A'")).op("||")(
    func.setweight(func.to_tsvector(SIMPLE, SearchDocument.body), literal_column("'B'"))
)
SQLITE_FTS = table("search_fts", column("rowid"), column("title"), column("body"))


def searchable_text(record: Any) -> tuple[str, str]:
    """(title, body) of a record: what a researcher would type to find it."""
    kind = record.record_type
    if kind == "person":
        return " ".join([record.name, *record.aliases]), record.description or ""
    if kind == "organization":
        return record.name, record.description or ""
    if kind == "case":
        return record.title, record.summary or ""
    if kind == "event":
        return record.title, " ".join(filter(None, [record.description, record.quote]))
    raise ValueError(f"{kind} records are not searchable")


async def index(session: AsyncSession, record: Any) -> None:
    title, body = searchable_text(record)
    await unindex(session, record.record_type, [record.id])
    await session.execute(
        insert(SearchDocument).values(record_type=record.record_type, record_id=record.id, title=title, body=body)
    )


async def unindex(session: AsyncSession, record_type: str, record_ids: Any) -> None:
    """Forget records (``record_ids``: a list or a subquery of ids)."""
    await session.execute(
        delete(SearchDocument).where(
            SearchDocument.record_type == record_type, SearchDocument.record_id.in_(record_ids)
        )
    )


def _terms(q: str) -> list[str]:
    # Words are runs of letters and digits, as the OpenAPI document's pattern for `q` says (`_` separates
    # words here, as it does for both databases' tokenizers).
    terms = re.findall(r"[^\W_]+", q)
    if not terms:
        raise InvalidQuery("q", "give at least one word (letters or digits) to search for")
    return [t.lower() for t in terms[:MAX_TERMS]]


def matches(session: AsyncSession, record_type: str, q: str | None) -> Select[Any] | None:
    """The ranked matches for ``q`` on this session's database, or None when there is no ``q``."""
    return None if q is None else ranked_matches(session.get_bind().dialect.name, record_type, q)


def ranked_matches(dialect: str, record_type: str, q: str) -> Select[Any]:
    """``(record_id, rank)`` of the records of one type matching every word of ``q`` (as a prefix)."""
    terms = _terms(q)
    if dialect == "postgresql":
        query = func.to_tsquery(SIMPLE, " & ".join(f"{t}:*" for t in terms))
        return select(SearchDocument.record_id, func.ts_rank(PG_WEIGHTED, query).cast(Float).label("rank")).where(
            SearchDocument.record_type == record_type, PG_VECTOR.op("@@")(query)
        )
    match = " AND ".join(f'"{t}"*' for t in terms)
    rank = (-func.bm25(literal_column("search_fts"), 10.0, 1.0)).cast(Float).label("rank")
    return (
        select(SearchDocument.record_id, rank)
        .select_from(SQLITE_FTS)
        .join(SearchDocument, literal_column("search_documents.rowid") == SQLITE_FTS.c.rowid)
        .where(literal_column("search_fts").op("MATCH")(match), SearchDocument.record_type == record_type)
    )

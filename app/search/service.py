"""Full-text search: keeping the index current, and turning ``q=`` into a ranked subquery.

The index holds each record's text *folded*, and a query is folded the same way before it reaches the
database: compatibility-decomposed (NFKD), case-folded, without combining marks (accents), reduced to its
words (runs of letters and digits). So ``josebelle``, ``JOSÉBELLE`` and a decomposed ``Jose\u0301belle``
all find "Josébelle", ``strasse`` finds "Straße", and both databases see the same words: their own
tokenizers (FTS5 unicode61 on SQLite, the `simple` configuration on PostgreSQL), which differ on accents,
only split the folded text at the spaces between its words.
"""

import re
import unicodedata
from typing import Any

import sqlalchemy.dialects.postgresql  # noqa: F401  (registers to_tsvector & co. before func builds them)
from sqlalchemy import ColumnClause, Float, Select, column, delete, false, func, insert, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidQuery
from app.kinds import registry_of
from app.search.models import SearchDocument

MAX_TERMS = 12

# On PostgreSQL the WHERE clause must spell the indexed expression exactly (constants, not bound
# parameters), or the GIN index of the migration is not used.
SIMPLE: ColumnClause[str] = literal_column("'simple'")
SPACE: ColumnClause[str] = literal_column("' '")
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


_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """The words of ``text`` as the index holds them: "Josébelle Ñúñez" -> "josebelle nunez".
    (Decomposed again after case folding, which can make an accent: "İ" -> "i̇"; so folding is idempotent.)"""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return " ".join(_WORD.findall(bare))


def searchable_text(session: AsyncSession, record: Any) -> tuple[str, str]:
    """(title, body) of a record, folded: what a researcher would type to find it (the registry says which text)."""
    text = registry_of(session)[record.record_type].text
    if text is None:
        raise ValueError(f"{record.record_type} records are not searchable")
    title, body = text(record)
    return fold(title), fold(body)


async def index(session: AsyncSession, record: Any, new: bool = False) -> None:
    """(Re)index a record; ``new``: created in this transaction (a new random id), so not indexed yet."""
    title, body = searchable_text(session, record)
    if not new:
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
    # words here, as it does for both databases' tokenizers). A few letters fold to nothing (a lone
    # half-width voiced sound mark): such a query is taken, and finds nothing, as no record's text has them.
    if not _WORD.search(q):
        raise InvalidQuery("q", "give at least one word (letters or digits) to search for")
    return fold(q).split()[:MAX_TERMS]


def matches(session: AsyncSession, record_type: str, q: str | None) -> Select[Any] | None:
    """The ranked matches for ``q`` on this session's database, or None when there is no ``q``."""
    return None if q is None else ranked_matches(session.get_bind().dialect.name, record_type, q)


def ranked_matches(dialect: str, record_type: str, q: str) -> Select[Any]:
    """``(record_id, rank)`` of the records of one type matching every word of ``q`` (as a prefix)."""
    terms = _terms(q)
    if not terms:
        return select(SearchDocument.record_id, literal_column("0.0", Float).label("rank")).where(false())
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

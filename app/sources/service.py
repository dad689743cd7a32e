from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dates import EARLIEST_DAY
from app.errors import Conflict
from app.listing import Sorting
from app.records import apply_changes, replace_links, require_ids
from app.sources.models import Source, citations
from app.sources.schemas import SourceCreate, SourceUpdate


async def cite(session: AsyncSession, record: Any, source_ids: Iterable[str]) -> None:
    """Make ``source_ids`` exactly the sources behind ``record`` (which must be flushed already)."""
    ids = list(source_ids)
    await require_ids(session, Source, ids, "source_ids", "source")
    await replace_links(
        session, citations, {"record_type": record.record_type, "record_id": record.id}, "source_id", ids
    )


async def uncite(session: AsyncSession, record_type: str, record_ids: Any) -> None:
    """Drop the citations of deleted records (``record_ids``: a list or a subquery of ids)."""
    await session.execute(
        delete(citations).where(citations.c.record_type == record_type, citations.c.record_id.in_(record_ids))
    )


async def create_source(session: AsyncSession, data: SourceCreate) -> Source:
    source = Source()
    apply_changes(source, data.model_dump())
    session.add(source)
    await session.flush()
    return source


async def update_source(session: AsyncSession, source: Source, data: SourceUpdate) -> Source:
    apply_changes(source, data.model_dump(exclude_unset=True))
    await session.flush()
    return source


async def delete_source(session: AsyncSession, source: Source) -> None:
    cited = await session.scalar(select(exists().where(citations.c.source_id == source.id)))
    if cited:
        raise Conflict(f"The source {source.id!r} is still cited by records; remove those citations first.")
    await session.delete(source)
    await session.flush()


SORTING = Sorting(
    {
        "created_at": Source.created_at,
        "updated_at": Source.updated_at,
        "title": Source.title,
        "publisher": Source.publisher,
        "published_on": Source.published_on_earliest,
    },
    default="created_at",
    id_column=Source.id,
    nulls={"publisher": "", "published_on": EARLIEST_DAY},
)


def sources_query() -> Select[tuple[Source]]:
    return select(Source)

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.dates import EARLIEST_DAY
from app.kinds import registry_of
from app.listing import Sorting
from app.records import apply_changes, refuse_if_referenced
from app.sources.models import Source, citations
from app.sources.schemas import SourceCreate, SourceUpdate
from app.sources.writes import finish, soft_delete


async def create_source(session: AsyncSession, data: SourceCreate, *, record_id: str | None = None) -> Source:
    source = Source(id=record_id)
    apply_changes(source, data.model_dump())
    session.add(source)
    return await finish(session, source, before=None)


async def update_source(session: AsyncSession, source: Source, data: SourceUpdate) -> Source:
    before = snapshot(session, source)
    apply_changes(source, data.model_dump(exclude_unset=True))
    return await finish(session, source, before)


async def delete_source(session: AsyncSession, source: Source) -> None:
    citing = {
        resource.path: select(resource.model.id)
        .join(
            citations,
            and_(citations.c.record_type == resource.record_type, citations.c.record_id == resource.model.id),
        )
        .where(citations.c.source_id == source.id)
        for resource in registry_of(session).values()
        if resource.model is not Source
    }
    await refuse_if_referenced(session, "source", source.id, citing)
    await soft_delete(session, source)


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


def sources_query() -> Select[Source]:
    return select(Source)

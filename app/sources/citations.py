"""Which sources back which record (the ``citations`` table, one for every kind of record)."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.records import replace_links, require_ids
from app.sources.models import Source, citations


async def cite(session: AsyncSession, record: Any, source_ids: Iterable[str], new: bool = False) -> None:
    """Make ``source_ids`` exactly the sources behind ``record`` (which must be flushed already; ``new``: created
    in this transaction, so cited by nothing yet)."""
    ids = list(source_ids)
    await require_ids(session, Source, ids, "source_ids", "source")
    await replace_links(
        session, citations, {"record_type": record.record_type, "record_id": record.id}, "source_id", ids, new=new
    )


async def uncite(session: AsyncSession, record_type: str, record_ids: Any) -> None:
    """Drop the citations of purged records (``record_ids``: a list or a subquery of ids)."""
    await session.execute(
        delete(citations).where(citations.c.record_type == record_type, citations.c.record_id.in_(record_ids))
    )

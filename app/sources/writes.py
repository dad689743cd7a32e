"""What every write ends with, in the same transaction: citations, search index, audit entry.

Services set a record's own fields and links; these finish the job the same way for every kind.
"""

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.db import Record, utcnow
from app.kinds import registry_of
from app.search import service as search
from app.sources.citations import cite

R = TypeVar("R", bound=Record)


async def finish(
    session: AsyncSession, record: R, before: dict[str, Any] | None, source_ids: list[str] | None = None
) -> R:
    """Complete a create (``before`` None) or an update: cite, reload derived fields, index, audit.

    A record created here has an id that no citation or search document names yet (a new random one, or a
    demo record's fixed id, which is only created again after a purge removed both): only an update first
    deletes the old ones."""
    new = before is None
    await session.flush()
    if source_ids is not None:
        await cite(session, record, source_ids, new=new)
    await session.refresh(record)
    if registry_of(session)[record.record_type].searchable:
        await search.index(session, record, new=new)
    await audit.log(session, "create" if before is None else "update", record, before, audit.snapshot(session, record))
    return record


async def soft_delete(session: AsyncSession, record: Any) -> None:
    """Hide a record everywhere; an admin can restore it, or purge it for good."""
    before = audit.snapshot(session, record)
    record.deleted_at = utcnow()
    await session.flush()
    await audit.log(session, "delete", record, before, None)

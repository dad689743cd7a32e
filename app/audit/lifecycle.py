"""Keeping the audit log and the changes feed whole when one record's fate carries others with it."""

from typing import Any

from sqlalchemy import Table, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import charge_people
from app.db import INCLUDE_DELETED
from app.events.models import event_organizations, event_people
from app.sources.models import Source, citations
from app.visibility import INSIDE_A_CASE

# (link table, the column naming its owner, the column naming what the owner refers to)
LINKS = (
    (event_people, event_people.c.event_id, event_people.c.person_id),
    (event_organizations, event_organizations.c.event_id, event_organizations.c.organization_id),
    (charge_people, charge_people.c.charge_id, charge_people.c.person_id),
)


async def records_inside(session: AsyncSession, case_id: str, live: bool) -> list[Any]:
    """Every record inside a case (``live``: only those not deleted on their own), whatever the case's state."""
    found: list[Any] = []
    for model in INSIDE_A_CASE:
        stmt = select(model).where(model.case_id == case_id).order_by(model.created_at, model.id)
        if live:
            stmt = stmt.where(model.deleted_at.is_(None))
        found += (await session.scalars(stmt.execution_options(**{INCLUDE_DELETED: True}))).all()
    return found


async def deleted_references(session: AsyncSession, record: Any) -> list[str]:
    """What a record refers to that is deleted: restoring it first would make a live record point at
    something hidden, and the changes feed could no longer be replayed to the same state.

    What it refers to is locked against deletion until the transaction ends (as app/records.py's
    require_ids does), so that a concurrent delete either comes first and is seen here, or waits and
    then finds the restored record referring to it."""
    table: Table = record.__table__
    found: list[str] = []
    for fk in table.foreign_keys:
        value = getattr(record, fk.parent.key)
        target = fk.column.table
        if value is not None and "deleted_at" in target.c:
            state = select(target.c.deleted_at).where(target.c.id == value).with_for_update(read=True)
            if await session.scalar(state) is not None:
                found.append(f"{fk.parent.key} {value}")
    for link, owner, reference in LINKS:
        if next(iter(owner.foreign_keys)).column.table is not table:
            continue
        target = next(iter(reference.foreign_keys)).column.table
        rows = await session.execute(
            select(target.c.id, target.c.deleted_at)
            .join(link, reference == target.c.id)
            .where(owner == record.id)
            .order_by(target.c.id)
            .with_for_update(read=True, of=target)
        )
        found += [f"{target.name} {row.id}" for row in rows if row.deleted_at is not None]
    if hasattr(record, "source_ids_joined"):
        sources = Source.__table__
        rows = await session.execute(
            select(sources.c.id, sources.c.deleted_at)
            .join(citations, citations.c.source_id == sources.c.id)
            .where(and_(citations.c.record_type == record.record_type, citations.c.record_id == record.id))
            .order_by(sources.c.id)
            .with_for_update(read=True, of=sources)
        )
        found += [f"source {row.id}" for row in rows if row.deleted_at is not None]
    return found

"""Keeping the audit log and the changes feed whole when one record's fate carries others with it."""

from typing import Any

from sqlalchemy import Table, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import charge_people
from app.events.models import event_organizations, event_people
from app.sources.models import Source, citations
from app.visibility import INCLUDE_DELETED, INSIDE_A_CASE

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
    something hidden, and the changes feed could no longer be replayed to the same state."""
    table: Table = record.__table__
    found: list[str] = []
    for fk in table.foreign_keys:
        value = getattr(record, fk.parent.key)
        target = fk.column.table
        if value is not None and "deleted_at" in target.c:
            deleted = select(target.c.id).where(target.c.id == value, target.c.deleted_at.is_not(None))
            if await session.scalar(deleted.exists().select()):
                found.append(f"{fk.parent.key} {value}")
    for link, owner, reference in LINKS:
        if next(iter(owner.foreign_keys)).column.table is not table:
            continue
        target = next(iter(reference.foreign_keys)).column.table
        rows = await session.execute(
            select(target.c.id)
            .join(link, reference == target.c.id)
            .where(owner == record.id, target.c.deleted_at.is_not(None))
        )
        found += [f"{target.name} {row.id}" for row in rows]
    if hasattr(record, "source_ids_joined"):
        sources = Source.__table__
        rows = await session.execute(
            select(sources.c.id)
            .join(citations, citations.c.source_id == sources.c.id)
            .where(
                and_(citations.c.record_type == record.record_type, citations.c.record_id == record.id),
                sources.c.deleted_at.is_not(None),
            )
        )
        found += [f"source {row.id}" for row in rows]
    return found

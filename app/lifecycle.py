"""Restore and purge, for every kind of record: what comes back or goes with a record, what refuses, and the audit
entries that keep the changes feed whole (the routes are in app/audit/router.py)."""

from typing import Any

from sqlalchemy import Table, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service
from app.db import INCLUDE_DELETED, utcnow
from app.errors import Conflict, NotFound
from app.records import records_inside
from app.resources import BY_TYPE, RESOURCES, Resource
from app.search import service as search
from app.sources.citations import uncite
from app.sources.models import Source, citations


async def _any_state(session: AsyncSession, resource: Resource, record_id: str) -> Any:
    """The record whether deleted or not (restore and purge deal with deleted ones), locked until the
    transaction ends: a restore and a purge of one record take turns, the second seeing what the first did."""
    found = await session.scalar(
        select(resource.model)
        .where(resource.model.id == record_id)
        .with_for_update(of=resource.model)
        .execution_options(**{INCLUDE_DELETED: True, "populate_existing": True})
    )
    if found is None:
        raise NotFound(f"No {resource.name} with id {record_id!r}")
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
    for link, owner, reference in BY_TYPE[record.record_type].links:
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


async def restore(session: AsyncSession, resource: Resource, record_id: str) -> Any:
    """Bring back a deleted record (and, for a case, what is inside it); 409 when it refers to deleted records."""
    record = await _any_state(session, resource, record_id)
    if record.deleted_at is None:
        raise Conflict(f"The {resource.name} {record_id!r} is not deleted.")
    dangling = await deleted_references(session, record)
    if dangling:
        raise Conflict(f"The {resource.name} refers to deleted records ({', '.join(dangling)}); restore those first.")
    record.deleted_at = None
    record.updated_at = utcnow()
    await session.flush()
    await session.refresh(record)
    await service.log(session, "restore", record, None, service.snapshot(session, record))
    if resource.record_type == "case":  # what is inside the case comes back with it
        for inner in await records_inside(session, record.id, live=True):
            await service.log(session, "restore", inner, None, service.snapshot(session, inner))
    return record


async def purge(session: AsyncSession, resource: Resource, record_id: str) -> None:
    """Remove a deleted record for good; 409 when other records still refer to it. The audit log keeps its history."""
    record = await _any_state(session, resource, record_id)
    if record.deleted_at is None:
        raise Conflict(f"Delete the {resource.name} first; only deleted records can be purged.")
    before = service.snapshot(session, record)
    if resource.record_type == "case":  # the database removes what is inside; drop its citations and index
        for inner_record in await records_inside(session, record.id, live=False):
            await service.log(session, "purge", inner_record, service.snapshot(session, inner_record), None)
        for kind in RESOURCES:
            if kind.inside_a_case:
                model: Any = kind.model
                inside = select(model.id).where(model.case_id == record.id)
                await uncite(session, kind.record_type, inside)
                if kind.searchable:
                    await search.unindex(session, kind.record_type, inside)
    if resource.record_type != "source":
        await uncite(session, resource.record_type, [record.id])
    if resource.searchable:
        await search.unindex(session, resource.record_type, [record.id])
    await session.delete(record)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"Other records (perhaps deleted ones) still refer to this {resource.name}; purge them first."
        ) from None
    await service.log(session, "purge", record, before, None)

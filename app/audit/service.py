"""Writing and reading the audit log: one entry per create, update, delete, restore and purge."""

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.auth.roles import viewer_of
from app.db import utcnow
from app.kinds import registry_of

PG_AUDIT_LOCK = 7_406_511  # any constant: the advisory lock that orders audit entries by commit


def snapshot(session: AsyncSession, record: Any) -> dict[str, Any]:
    """The record as the API shows it to a reader (the form kept in history)."""
    return registry_of(session)[record.record_type].read.model_validate(record).model_dump(mode="json")


async def _commit_order(session: AsyncSession) -> None:
    # On PostgreSQL, concurrent writers could take sequence numbers in one order and commit in
    # another, and a reader of the changes feed would skip an entry. Writers queue here instead
    # (the lock lasts until commit); SQLite has one writer at a time anyway.
    if session.get_bind().dialect.name == "postgresql" and not session.info.get("audit_locked"):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK})
        session.info["audit_locked"] = True


async def log(
    session: AsyncSession, action: str, record: Any, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    await _commit_order(session)
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=viewer_of(session).name,
            action=action,
            record_type=record.record_type,
            record_id=record.id,
            before=before,
            after=after,
        )
    )
    await session.flush()


def entries_query(record_type: str | None = None, record_id: str | None = None) -> Any:
    stmt = select(AuditEntry)
    if record_type is not None:
        stmt = stmt.where(AuditEntry.record_type == record_type)
    if record_id is not None:
        stmt = stmt.where(AuditEntry.record_id == record_id)
    return stmt

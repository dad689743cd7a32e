import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import ID_LENGTH, Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One write: who, when, which record, what action, the record before and after.

    ``seq`` orders entries in commit order (writers take a lock before their first entry on
    PostgreSQL; SQLite has one writer at a time), so it doubles as the cursor of the changes feed.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_record", "record_type", "record_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

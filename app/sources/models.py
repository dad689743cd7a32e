import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.dates import EDTF_MAX_LENGTH
from app.db import ID_LENGTH, Base, Record
from app.records import aggregated_ids, split_ids


class Source(Record, Base):
    """Where a fact comes from: an article, a court document, a social-media post."""

    __tablename__ = "sources"
    record_type = "source"

    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    publisher: Mapped[str | None] = mapped_column(String(300))
    published_on: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    published_on_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    published_on_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    note: Mapped[str | None] = mapped_column(Text)


# Which sources back which record. One table for every kind of record (the kind is part of the key),
# so "what cites this source" and "the sources of these records" are each one query.
citations = Table(
    "citations",
    Base.metadata,
    Column("record_type", String(20), primary_key=True),
    Column("record_id", String(ID_LENGTH), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Cited:
    """Mixin for a fact record: its ``source_ids`` load in the same statement as the record."""

    record_type: ClassVar[str]
    if TYPE_CHECKING:  # Record's, which every cited kind also is (declaring it here at run time would remap it)
        id: Mapped[str]

    @declared_attr
    def source_ids_joined(cls) -> Mapped[str | None]:
        return aggregated_ids(
            citations.c.source_id,
            Source.__table__,
            citations.c.record_type == cls.record_type,
            citations.c.record_id == cls.id,
        )

    @property
    def source_ids(self) -> list[str]:
        return split_ids(self.source_ids_joined)

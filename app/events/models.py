"""Everything else that happened around a case: arrests, detention changes, visits, statements, reactions."""

import datetime as dt

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.dates import EDTF_MAX_LENGTH
from app.db import Base, Record
from app.organizations.models import Organization
from app.people.models import Person
from app.records import aggregated_ids, split_ids
from app.sources.models import Cited

event_people = Table(
    "event_people",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

event_organizations = Table(
    "event_organizations",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Event(Cited, Record, Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case_id_date", "case_id", "date_earliest"),)
    record_type = "event"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    date: Mapped[str] = mapped_column(String(EDTF_MAX_LENGTH))
    date_earliest: Mapped[dt.date] = mapped_column(Date, index=True)
    date_latest: Mapped[dt.date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def person_ids_joined(cls) -> Mapped[str | None]:
        return aggregated_ids(event_people.c.person_id, Person.__table__, event_people.c.event_id == cls.id)

    @declared_attr
    def organization_ids_joined(cls) -> Mapped[str | None]:
        return aggregated_ids(
            event_organizations.c.organization_id, Organization.__table__, event_organizations.c.event_id == cls.id
        )

    @property
    def person_ids(self) -> list[str]:
        return split_ids(self.person_ids_joined)

    @property
    def organization_ids(self) -> list[str]:
        return split_ids(self.organization_ids_joined)

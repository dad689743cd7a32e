"""A case and the kinds that exist only inside one: participants, charges, sentences."""

import datetime as dt

from sqlalchemy import Column, Date, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.dates import EDTF_MAX_LENGTH
from app.db import Base, Record
from app.organizations.models import Organization
from app.people.models import Person
from app.records import aggregated_ids, shown_id, split_ids
from app.sources.models import Cited


class Case(Cited, Record, Base):
    """One prosecution; it can have several defendants."""

    __tablename__ = "cases"
    record_type = "case"

    title: Mapped[str] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    status: Mapped[str | None] = mapped_column(String(32), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    opened_on: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    opened_on_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    opened_on_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)


class Participant(Cited, Record, Base):
    """A person in a role in a case; one person may hold several roles."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_case_id_since", "case_id", "since_earliest"),)
    record_type = "participant"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(32), index=True)
    since: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    since_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    since_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    until: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    until_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    until_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    note: Mapped[str | None] = mapped_column(Text)


# People a charge names besides the accused (the official it was allegedly aimed at, say).
charge_people = Table(
    "charge_people",
    Base.metadata,
    Column("charge_id", ForeignKey("charges.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Charge(Cited, Record, Base):
    __tablename__ = "charges"
    __table_args__ = (Index("ix_charges_case_id_date", "case_id", "date_earliest"),)
    record_type = "charge"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    statute: Mapped[str | None] = mapped_column(String(300), index=True)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), index=True)
    date: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    date_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    date_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)

    @declared_attr
    def person_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.person_id, Person.__table__)

    @declared_attr
    def named_person_ids_joined(cls) -> Mapped[str | None]:
        return aggregated_ids(charge_people.c.person_id, Person.__table__, charge_people.c.charge_id == cls.id)

    @property
    def named_person_ids(self) -> list[str]:
        return split_ids(self.named_person_ids_joined)


class Sentence(Cited, Record, Base):
    __tablename__ = "sentences"
    __table_args__ = (Index("ix_sentences_case_id_start", "case_id", "start_date_earliest"),)
    record_type = "sentence"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    term_months: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    start_date_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    start_date_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    parole_fraction: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def person_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.person_id, Person.__table__)

    @declared_attr
    def facility_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.facility_id, Organization.__table__)

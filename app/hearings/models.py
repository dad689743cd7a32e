"""Hearings (sittings of a court) and outcomes (decisions, often of a hearing)."""

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.dates import EDTF_MAX_LENGTH
from app.db import Base, Record
from app.organizations.models import Organization
from app.people.models import Person
from app.records import shown_id
from app.sources.models import Cited


class Hearing(Cited, Record, Base):
    __tablename__ = "hearings"
    __table_args__ = (Index("ix_hearings_case_id_date", "case_id", "date_earliest"),)
    record_type = "hearing"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    date: Mapped[str] = mapped_column(String(EDTF_MAX_LENGTH))
    date_earliest: Mapped[dt.date] = mapped_column(Date, index=True)
    date_latest: Mapped[dt.date] = mapped_column(Date, index=True)
    location: Mapped[str | None] = mapped_column(String(500))
    court_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    judge_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    public: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def court_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.court_id, Organization.__table__)

    @declared_attr
    def judge_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.judge_id, Person.__table__)


class Outcome(Cited, Record, Base):
    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_case_id_date", "case_id", "date_earliest"),)
    record_type = "outcome"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    date: Mapped[str] = mapped_column(String(EDTF_MAX_LENGTH))
    date_earliest: Mapped[dt.date] = mapped_column(Date, index=True)
    date_latest: Mapped[dt.date] = mapped_column(Date, index=True)
    # NO ACTION rather than RESTRICT: deleting a case removes its hearings and outcomes in one statement.
    hearing_id: Mapped[str | None] = mapped_column(ForeignKey("hearings.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    summary: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def hearing_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.hearing_id, Hearing.__table__)

    @declared_attr
    def person_id_shown(cls) -> Mapped[str | None]:
        return shown_id(cls.person_id, Person.__table__)

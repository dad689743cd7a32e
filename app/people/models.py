import datetime as dt

from sqlalchemy import JSON, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.dates import EDTF_MAX_LENGTH
from app.db import Base, Record
from app.sources.models import Cited


class Person(Cited, Record, Base):
    """Anyone a case involves or names: defendants, lawyers, relatives, judges, officials."""

    __tablename__ = "people"
    record_type = "person"

    name: Mapped[str] = mapped_column(String(500), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    birth_date: Mapped[str | None] = mapped_column(String(EDTF_MAX_LENGTH))
    birth_date_earliest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    birth_date_latest: Mapped[dt.date | None] = mapped_column(Date, index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    description: Mapped[str | None] = mapped_column(Text)

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Record
from app.sources.models import Cited


class Organization(Cited, Record, Base):
    """Courts, prisons, parties, governments, international bodies, NGOs, media."""

    __tablename__ = "organizations"
    record_type = "organization"

    name: Mapped[str] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    description: Mapped[str | None] = mapped_column(Text)

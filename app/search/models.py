from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import ID_LENGTH, Base


class SearchDocument(Base):
    """The searchable text of one record, written in the same transaction as the record.

    The full-text index over it is database-specific and lives in the migrations: a GIN index on
    ``to_tsvector('simple', ...)`` on PostgreSQL, an FTS5 table kept in sync by triggers on SQLite.
    Both tokenize any script and fold case, so Cyrillic and Latin names are found alike.
    """

    __tablename__ = "search_documents"

    record_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    title: Mapped[str] = mapped_column(Text)  # names, aliases, titles: ranked above the body
    body: Mapped[str] = mapped_column(Text)

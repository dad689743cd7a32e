import datetime as dt
from typing import Annotated

from pydantic import MISSING, Field

from app.dates import EDTFDate
from app.schemas import LongText, RecordFields, RecordOut, ShortText, Url, short_text

Publisher = Annotated[str, *short_text(300)]  # as long as its column


class SourceFields(RecordFields):
    url: Url | None = Field(
        default=None, examples=["https://eurasianet.org/kazakhstan-jailed-opposition-leader-refused-parole"]
    )
    publisher: Publisher | None = Field(default=None, examples=["Eurasianet"])
    published_on: EDTFDate | None = None
    note: LongText | None = None


class SourceCreate(SourceFields):
    title: ShortText = Field(examples=["Kazakhstan: Jailed Opposition Leader Refused Parole"])


class SourceUpdate(SourceFields):
    # A title can change but never be removed: null is refused, absence leaves it as is.
    title: ShortText | MISSING = MISSING


class SourceRead(RecordOut):
    title: str
    url: str | None
    publisher: str | None
    published_on: str | None
    published_on_earliest: dt.date | None
    published_on_latest: dt.date | None
    note: str | None

import datetime as dt

from pydantic import MISSING, Field

from app.dates import EDTFDate
from app.schemas import CitedOut, Country, IdList, LongText, RecordFields, ShortText


class PersonFields(RecordFields):
    aliases: list[ShortText] = Field(
        default_factory=list,
        max_length=50,
        description="Other names and spellings, in any script.",
        examples=[["Владимир Козлов", "Vladimir Kozlov"]],
    )
    birth_date: EDTFDate | None = None
    country: Country | None = None
    description: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class PersonCreate(PersonFields):
    name: ShortText = Field(examples=["Vladimir Kozlov"])


class PersonUpdate(PersonFields):
    name: ShortText | MISSING = MISSING  # may change, never be null


class PersonRead(CitedOut):
    name: str
    aliases: list[str]
    birth_date: str | None
    birth_date_earliest: dt.date | None
    birth_date_latest: dt.date | None
    country: str | None
    description: str | None

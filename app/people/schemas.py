import datetime as dt

from pydantic import MISSING, Field

from app.cases.schemas import ParticipantRole
from app.dates import EDTFDate
from app.schemas import CitedOut, Country, IdList, LongText, Output, RecordFields, ShortText


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


class Participation(Output):
    participant_id: str
    case_id: str
    case_title: str
    role: ParticipantRole
    since: str | None
    until: str | None


class PersonDetail(PersonRead):
    participations: list[Participation] = Field(description="The cases this person appears in, and in which roles.")

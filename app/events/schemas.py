import datetime as dt
from enum import StrEnum

from pydantic import MISSING, Field

from app.dates import EDTFDate
from app.schemas import CitedOut, IdList, LongText, RecordFields, ShortText


class EventKind(StrEnum):
    arrest = "arrest"
    detention_change = "detention_change"
    transfer = "transfer"
    visit = "visit"
    statement = "statement"
    reaction = "reaction"
    protest = "protest"
    incident = "incident"
    filing = "filing"
    other = "other"


class EventFields(RecordFields):
    description: LongText | None = None
    quote: LongText | None = Field(default=None, description="Words said or written, verbatim.")
    person_ids: IdList = Field(default_factory=list, description="People involved.")
    organization_ids: IdList = Field(default_factory=list, description="Organizations involved.")
    source_ids: IdList = Field(default_factory=list)


class EventCreate(EventFields):
    kind: EventKind
    date: EDTFDate
    title: ShortText = Field(examples=["Placed on a stricter detention regime"])


class EventUpdate(EventFields):
    kind: EventKind | MISSING = MISSING
    date: EDTFDate | MISSING = MISSING
    title: ShortText | MISSING = MISSING


class EventRead(CitedOut):
    case_id: str
    kind: EventKind
    date: str
    date_earliest: dt.date
    date_latest: dt.date
    title: str
    description: str | None
    quote: str | None
    person_ids: list[str]
    organization_ids: list[str]

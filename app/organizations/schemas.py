from enum import StrEnum

from pydantic import MISSING, Field

from app.schemas import CitedOut, Country, IdList, LongText, RecordFields, ShortText


class OrganizationKind(StrEnum):
    court = "court"
    prison = "prison"
    party = "party"
    government = "government"
    international_body = "international_body"
    ngo = "ngo"
    media = "media"
    company = "company"
    other = "other"


class OrganizationFields(RecordFields):
    country: Country | None = None
    description: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class OrganizationCreate(OrganizationFields):
    name: ShortText = Field(examples=["European Parliament"])
    kind: OrganizationKind = OrganizationKind.other


class OrganizationUpdate(OrganizationFields):
    name: ShortText | MISSING = MISSING  # may change, never be null
    kind: OrganizationKind | MISSING = MISSING


class OrganizationRead(CitedOut):
    name: str
    kind: OrganizationKind
    country: str | None
    description: str | None

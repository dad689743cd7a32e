"""Building blocks shared by every resource's Pydantic schemas."""

from datetime import datetime
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.db import ID_LENGTH


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps both databases alike.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


NoNul = AfterValidator(_no_nul)
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoNul]
LongText = Annotated[str, StringConstraints(max_length=20_000), NoNul]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), NoNul]
RecordId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_LENGTH),
    NoNul,
    Field(description="Opaque id of another record.", examples=["5f0c6a8c2d7e4a58b0b3a1c9e2f4d6a8"]),
]
IdList = Annotated[list[RecordId], Field(max_length=200)]


def _known_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. KZ, RU, BY)")
    return code


CountryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=2),
    AfterValidator(_known_country),
    Field(description="ISO 3166-1 alpha-2 country code.", examples=["KZ"]),
]


class Input(BaseModel):
    """A request body: unknown fields are refused, so clients cannot set server-owned ones."""

    model_config = ConfigDict(extra="forbid")


class RecordFields(Input):
    restricted: StrictBool = Field(
        default=False,
        description="Restricted records are invisible without a reader token: for people whose safety "
        "depends on it, unverified facts, or anything not yet public.",
    )


class Output(BaseModel):
    # Every field is always present in a response, so the schema says "required" (clients can rely on it).
    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class RecordOut(Output):
    id: str
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Incremented by every change; the ETag carries it, for If-Match.")
    restricted: bool


class CitedOut(RecordOut):
    source_ids: list[str] = Field(description="Sources behind this record.")

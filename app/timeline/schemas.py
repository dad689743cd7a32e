import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ItemType(StrEnum):
    participant = "participant"
    charge = "charge"
    event = "event"
    hearing = "hearing"
    outcome = "outcome"
    sentence = "sentence"


class TimelineItem(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: ItemType = Field(description="Which kind of record this item comes from.")
    id: str = Field(description="The record's id; GET /api/v1/{type}s/{id} returns it whole.")
    kind: str = Field(description="The record's kind (for a participant: the role).")
    phase: Literal["start", "end"] | None = Field(
        default=None,
        description="For a participant: `start` or `end` of the role; for a sentence: `start`.",
    )
    date: str = Field(description="EDTF date, as precise as the source allows.")
    date_earliest: dt.date
    date_latest: dt.date
    title: str = Field(description="One line for a human reader.")
    text: str | None = Field(default=None, description="Summary, description or quote, when there is one.")
    person_ids: list[str]
    organization_ids: list[str]
    source_ids: list[str]
    recorded: dt.datetime = Field(exclude=True)  # tiebreak only: when the record was entered
    # Sort only: (latest, earliest) day the item is placed by; its own dates, except a role's end, which
    # is placed no earlier than the role's start (app.timeline.service).
    sorts_at: tuple[dt.date, dt.date] = Field(exclude=True)


class Timeline(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    case_id: str
    items: list[TimelineItem]
    next: str | None = Field(default=None, description="With `limit`: the cursor of the next page, or null.")

"""The kinds of record the API serves, by URL segment and by record type, for the operations every
kind shares (history, restore, purge, audit snapshots)."""

from dataclasses import dataclass

from pydantic import BaseModel

from app.cases.models import Case, Charge, Participant, Sentence
from app.cases.schemas import (
    CaseCreate,
    CaseRead,
    ChargeCreate,
    ChargeRead,
    ParticipantCreate,
    ParticipantRead,
    SentenceCreate,
    SentenceRead,
)
from app.db import Record
from app.events.models import Event
from app.events.schemas import EventCreate, EventRead
from app.hearings.models import Hearing, Outcome
from app.hearings.schemas import HearingCreate, HearingRead, OutcomeCreate, OutcomeRead
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationRead
from app.people.models import Person
from app.people.schemas import PersonCreate, PersonRead
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceRead


@dataclass(frozen=True)
class Resource:
    path: str  # URL segment: /api/v1/<path>/{id}
    name: str  # singular, for operation ids and messages
    model: type[Record]
    read: type[BaseModel]
    create: type[BaseModel]  # what the API takes for a new one: `casetrack load` holds dumped rows to it too
    searchable: bool = False

    @property
    def record_type(self) -> str:
        return self.model.record_type


RESOURCES = (
    Resource("people", "person", Person, PersonRead, PersonCreate, searchable=True),
    Resource("organizations", "organization", Organization, OrganizationRead, OrganizationCreate, searchable=True),
    Resource("sources", "source", Source, SourceRead, SourceCreate),
    Resource("cases", "case", Case, CaseRead, CaseCreate, searchable=True),
    Resource("participants", "participant", Participant, ParticipantRead, ParticipantCreate),
    Resource("charges", "charge", Charge, ChargeRead, ChargeCreate),
    Resource("sentences", "sentence", Sentence, SentenceRead, SentenceCreate),
    Resource("hearings", "hearing", Hearing, HearingRead, HearingCreate),
    Resource("outcomes", "outcome", Outcome, OutcomeRead, OutcomeCreate),
    Resource("events", "event", Event, EventRead, EventCreate, searchable=True),
)
BY_TYPE = {resource.record_type: resource for resource in RESOURCES}

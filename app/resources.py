"""The kinds of record the API serves, by URL segment and by record type, for the operations every
kind shares (history, restore, purge, audit snapshots)."""

from dataclasses import dataclass

from pydantic import BaseModel

from app.cases.models import Case, Charge, Participant, Sentence
from app.cases.schemas import CaseRead, ChargeRead, ParticipantRead, SentenceRead
from app.events.models import Event
from app.events.schemas import EventRead
from app.hearings.models import Hearing, Outcome
from app.hearings.schemas import HearingRead, OutcomeRead
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationRead
from app.people.models import Person
from app.people.schemas import PersonRead
from app.sources.models import Source
from app.sources.schemas import SourceRead


@dataclass(frozen=True)
class Resource:
    path: str  # URL segment: /api/v1/<path>/{id}
    name: str  # singular, for operation ids and messages
    model: type
    read: type[BaseModel]
    searchable: bool = False

    @property
    def record_type(self) -> str:
        return self.model.record_type  # type: ignore[attr-defined]


RESOURCES = (
    Resource("people", "person", Person, PersonRead, searchable=True),
    Resource("organizations", "organization", Organization, OrganizationRead, searchable=True),
    Resource("sources", "source", Source, SourceRead),
    Resource("cases", "case", Case, CaseRead, searchable=True),
    Resource("participants", "participant", Participant, ParticipantRead),
    Resource("charges", "charge", Charge, ChargeRead),
    Resource("sentences", "sentence", Sentence, SentenceRead),
    Resource("hearings", "hearing", Hearing, HearingRead),
    Resource("outcomes", "outcome", Outcome, OutcomeRead),
    Resource("events", "event", Event, EventRead, searchable=True),
)
BY_TYPE = {resource.record_type: resource for resource in RESOURCES}

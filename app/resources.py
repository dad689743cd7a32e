"""The kinds of record the API serves, by URL segment and by record type, for the operations every
kind shares (history, restore, purge, audit snapshots, deletes refused while referenced). The session
factory hands this registry to every session (app.kinds.registry_of), so the kernel needs no domain."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Column, Select, Table, select

from app.cases.models import Case, Charge, Participant, Sentence, charge_people
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
from app.events.models import Event, event_organizations, event_people
from app.events.schemas import EventCreate, EventRead
from app.hearings.models import Hearing, Outcome
from app.hearings.schemas import HearingCreate, HearingRead, OutcomeCreate, OutcomeRead
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationRead
from app.people.models import Person
from app.people.schemas import PersonCreate, PersonRead
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceRead

# A link table as (table, the column naming the owner, the column naming what the owner refers to).
Link = tuple[Table, Column[Any], Column[Any]]


@dataclass(frozen=True)
class Resource:
    path: str  # URL segment: /api/v1/<path>/{id}
    name: str  # singular, for operation ids and messages
    model: type[Record]
    read: type[BaseModel]
    create: type[BaseModel]  # what the API takes for a new one: `casetrack load` holds dumped rows to it too
    # (title, body) of a record, as a researcher would type them to find it; None: not searchable.
    text: Callable[[Any], tuple[str, str]] | None = None
    # What refuses a delete of one of these while live records point at it: (description, the ids of those
    # records, given this one's id), in the order the refusal names them.
    referenced_by: tuple[tuple[str, Callable[[str], Select[Any]]], ...] = ()
    inside_a_case: bool = False  # lies in a case: hidden, restored and purged with it
    # The link tables a record of this kind owns: (table, the column naming the owner, the column naming what
    # the owner refers to). Restoring a record refuses while what it links to is deleted.
    links: tuple[Link, ...] = ()

    @property
    def record_type(self) -> str:
        return self.model.record_type

    @property
    def searchable(self) -> bool:
        return self.text is not None


def _person_text(person: Person) -> tuple[str, str]:
    return " ".join([person.name, *person.aliases]), person.description or ""


def _organization_text(organization: Organization) -> tuple[str, str]:
    return organization.name, organization.description or ""


def _case_text(case: Case) -> tuple[str, str]:
    return case.title, case.summary or ""


def _event_text(event: Event) -> tuple[str, str]:
    return event.title, " ".join(filter(None, [event.description, event.quote]))


# The link tables, named once: what a record owns (Resource.links), and what refuses a delete of what it
# refers to (referenced_by).
CHARGE_PEOPLE: Link = (charge_people, charge_people.c.charge_id, charge_people.c.person_id)
EVENT_PEOPLE: Link = (event_people, event_people.c.event_id, event_people.c.person_id)
EVENT_ORGANIZATIONS: Link = (event_organizations, event_organizations.c.event_id, event_organizations.c.organization_id)


def _linking(owner: type[Record], link: Link) -> Callable[[str], Select[Any]]:
    """The ids of the ``owner`` records whose link table names this id."""
    table, owner_column, target_column = link
    return lambda id: select(owner.id).join(table, owner_column == owner.id).where(target_column == id)


PERSON_REFERENCED_BY = (
    ("participants", lambda id: select(Participant.id).where(Participant.person_id == id)),
    ("charges", lambda id: select(Charge.id).where(Charge.person_id == id)),
    ("charges (named people)", _linking(Charge, CHARGE_PEOPLE)),
    ("sentences", lambda id: select(Sentence.id).where(Sentence.person_id == id)),
    ("hearings (as judge)", lambda id: select(Hearing.id).where(Hearing.judge_id == id)),
    ("outcomes", lambda id: select(Outcome.id).where(Outcome.person_id == id)),
    ("events", _linking(Event, EVENT_PEOPLE)),
)
ORGANIZATION_REFERENCED_BY = (
    ("hearings (as court)", lambda id: select(Hearing.id).where(Hearing.court_id == id)),
    ("sentences (as facility)", lambda id: select(Sentence.id).where(Sentence.facility_id == id)),
    ("events", _linking(Event, EVENT_ORGANIZATIONS)),
)

RESOURCES = (
    Resource(
        "people", "person", Person, PersonRead, PersonCreate, text=_person_text, referenced_by=PERSON_REFERENCED_BY
    ),
    Resource(
        "organizations",
        "organization",
        Organization,
        OrganizationRead,
        OrganizationCreate,
        text=_organization_text,
        referenced_by=ORGANIZATION_REFERENCED_BY,
    ),
    Resource("sources", "source", Source, SourceRead, SourceCreate),
    Resource("cases", "case", Case, CaseRead, CaseCreate, text=_case_text),
    Resource("participants", "participant", Participant, ParticipantRead, ParticipantCreate, inside_a_case=True),
    Resource(
        "charges",
        "charge",
        Charge,
        ChargeRead,
        ChargeCreate,
        inside_a_case=True,
        links=(CHARGE_PEOPLE,),
    ),
    Resource("sentences", "sentence", Sentence, SentenceRead, SentenceCreate, inside_a_case=True),
    Resource("hearings", "hearing", Hearing, HearingRead, HearingCreate, inside_a_case=True),
    Resource("outcomes", "outcome", Outcome, OutcomeRead, OutcomeCreate, inside_a_case=True),
    Resource(
        "events",
        "event",
        Event,
        EventRead,
        EventCreate,
        text=_event_text,
        inside_a_case=True,
        links=(EVENT_PEOPLE, EVENT_ORGANIZATIONS),
    ),
)
BY_TYPE = {resource.record_type: resource for resource in RESOURCES}

"""One request for a whole case: the case with the records inside it, the people and organizations
they name and the sources they cite, in a fixed number of statements whatever the case's size
(one per kind asked for, plus one each for people, organizations and sources)."""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
from app.timeline.schemas import Timeline
from app.timeline.service import case_timeline


class Include(StrEnum):
    participants = "participants"
    charges = "charges"
    sentences = "sentences"
    hearings = "hearings"
    outcomes = "outcomes"
    events = "events"
    sources = "sources"
    timeline = "timeline"


KINDS: dict[Include, tuple[Any, type[BaseModel]]] = {
    Include.participants: (Participant, ParticipantRead),
    Include.charges: (Charge, ChargeRead),
    Include.sentences: (Sentence, SentenceRead),
    Include.hearings: (Hearing, HearingRead),
    Include.outcomes: (Outcome, OutcomeRead),
    Include.events: (Event, EventRead),
}


class CaseWithRecords(CaseRead):
    """The case; each list is present only when asked for with ``include``."""

    # The embedded lists are optional in the response: present only when included.
    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=False)

    participants: list[ParticipantRead] | None = None
    charges: list[ChargeRead] | None = None
    sentences: list[SentenceRead] | None = None
    hearings: list[HearingRead] | None = None
    outcomes: list[OutcomeRead] | None = None
    events: list[EventRead] | None = None
    timeline: Timeline | None = None
    people: list[PersonRead] | None = Field(default=None, description="Everyone the included records name.")
    organizations: list[OrganizationRead] | None = Field(
        default=None, description="Every organization the included records name."
    )
    sources: list[SourceRead] | None = Field(default=None, description="Every source the case and its records cite.")


def _people_named(record: Any) -> Iterable[str | None]:
    # The *_shown ids: references to records the viewer may not see are blank there.
    yield getattr(record, "person_id_shown", getattr(record, "person_id", None))
    yield getattr(record, "judge_id_shown", None)
    yield from getattr(record, "person_ids", ())
    yield from getattr(record, "named_person_ids", ())


def _organizations_named(record: Any) -> Iterable[str | None]:
    yield getattr(record, "court_id_shown", None)
    yield getattr(record, "facility_id_shown", None)
    yield from getattr(record, "organization_ids", ())


async def _by_ids(session: AsyncSession, model: Any, ids: set[str], order: Any) -> list[Any]:
    if not ids:
        return []
    return list((await session.scalars(select(model).where(model.id.in_(ids)).order_by(order, model.id))).all())


async def case_with_records(session: AsyncSession, case: Case, include: set[Include]) -> dict[str, Any]:
    body: dict[str, Any] = CaseRead.model_validate(case).model_dump(mode="json")
    records: list[Any] = []
    for kind, (model, schema) in KINDS.items():
        if kind in include:
            rows = (await session.scalars(select(model).where(model.case_id == case.id).order_by(model.id))).all()
            records.extend(rows)
            body[kind.value] = [schema.model_validate(row).model_dump(mode="json") for row in rows]
    if include & set(KINDS):
        person_ids = {p for record in records for p in _people_named(record) if p}
        organization_ids = {o for record in records for o in _organizations_named(record) if o}
        people = await _by_ids(session, Person, person_ids, Person.name)
        organizations = await _by_ids(session, Organization, organization_ids, Organization.name)
        body["people"] = [PersonRead.model_validate(p).model_dump(mode="json") for p in people]
        body["organizations"] = [OrganizationRead.model_validate(o).model_dump(mode="json") for o in organizations]
    if Include.sources in include:
        cited = {s for record in [case, *records] for s in record.source_ids}
        sources = await _by_ids(session, Source, cited, Source.title)
        body["sources"] = [SourceRead.model_validate(s).model_dump(mode="json") for s in sources]
    if Include.timeline in include:
        body["timeline"] = (await case_timeline(session, case)).model_dump(mode="json")
    return body

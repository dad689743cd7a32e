"""Rules for events: what happened around a case, with the people and organizations involved."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.cases.models import Case
from app.events.models import Event, event_organizations, event_people
from app.events.schemas import EventCreate, EventKind, EventUpdate
from app.filters import within_dates
from app.listing import Sorting
from app.organizations.models import Organization
from app.people.models import Person
from app.records import apply_changes, names_visible, replace_links, require_ids
from app.sources.writes import finish, soft_delete


async def _link(session: AsyncSession, event: Event, person_ids: Any, organization_ids: Any) -> None:
    if person_ids is not None:
        await require_ids(session, Person, person_ids, "person_ids", "person")
        await replace_links(session, event_people, {"event_id": event.id}, "person_id", person_ids)
    if organization_ids is not None:
        await require_ids(session, Organization, organization_ids, "organization_ids", "organization")
        await replace_links(session, event_organizations, {"event_id": event.id}, "organization_id", organization_ids)


async def create_event(session: AsyncSession, case: Case, data: EventCreate, *, record_id: str | None = None) -> Event:
    event = Event(id=record_id, case_id=case.id)
    apply_changes(event, data.model_dump(exclude={"source_ids", "person_ids", "organization_ids"}))
    session.add(event)
    await session.flush()
    await _link(session, event, data.person_ids, data.organization_ids)
    return await finish(session, event, None, data.source_ids)


async def update_event(session: AsyncSession, event: Event, data: EventUpdate) -> Event:
    before = snapshot(session, event)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    person_ids = changes.pop("person_ids", None)
    organization_ids = changes.pop("organization_ids", None)
    apply_changes(event, changes)
    await _link(session, event, person_ids, organization_ids)
    return await finish(session, event, before, source_ids)


async def delete_event(session: AsyncSession, event: Event) -> None:
    await soft_delete(session, event)


SORTING = Sorting(
    {
        "date": Event.date_earliest,
        "kind": Event.kind,
        "title": Event.title,
        "created_at": Event.created_at,
        "updated_at": Event.updated_at,
    },
    default="date",
    id_column=Event.id,
)


def events_query(
    case_id: str | None = None,
    kind: list[EventKind] | None = None,
    person_id: str | None = None,
    organization_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Select[Event]:
    stmt = select(Event)
    if case_id is not None:
        stmt = stmt.where(Event.case_id == case_id)
    if kind:
        stmt = stmt.where(Event.kind.in_(kind))
    if person_id is not None:
        naming = select(event_people.c.event_id).where(names_visible(event_people.c.person_id, Person, person_id))
        stmt = stmt.where(Event.id.in_(naming))
    if organization_id is not None:
        stmt = stmt.where(
            Event.id.in_(
                select(event_organizations.c.event_id).where(
                    names_visible(event_organizations.c.organization_id, Organization, organization_id)
                )
            )
        )
    return within_dates(stmt, Event.date_earliest, Event.date_latest, date_from, date_to)

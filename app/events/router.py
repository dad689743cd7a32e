from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases.dependencies import CaseDep
from app.db import SessionDep
from app.events import service
from app.events.models import Event
from app.events.schemas import EventCreate, EventKind, EventRead, EventUpdate
from app.filters import DateFrom, DateTo, SearchQuery, choice_list, choices, query_filters
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page
from app.search import service as search

router = APIRouter(tags=["events"])
EventList = Annotated[ListParams, Depends(list_params(EventRead, service.SORTING))]
EventFields = Annotated[set[str] | None, Depends(record_fields(EventRead))]


async def load_event(event_id: str, session: SessionDep, request: Request) -> Event:
    return await http.load(request, session, Event, event_id, "event")


EventDep = Annotated[Event, Depends(load_event)]


@dataclass
class EventFilters:
    kind: Annotated[str | None, choice_list(EventKind, "Events of these kinds.", "reaction")] = None
    person_id: Annotated[str | None, Query(max_length=32, description="Events involving this person.")] = None
    organization_id: Annotated[str | None, Query(max_length=32, description="Events involving this organization.")] = (
        None
    )
    date_from: DateFrom = None
    date_to: DateTo = None
    q: SearchQuery = None


FiltersDep = Annotated[EventFilters, Depends(query_filters(EventFilters))]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: EventFilters, case_id: str | None
) -> Response:
    stmt = service.events_query(
        case_id=case_id,
        kind=choices(filters.kind, EventKind, "kind"),
        person_id=filters.person_id,
        organization_id=filters.organization_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    found = search.matches(session, "event", filters.q)
    return await respond(request, session, stmt, params, search=found)


@router.get("/cases/{case_id}/events", name="listCaseEvents", responses=http.LIST_CASE, response_model=Page[EventRead])
async def list_case_events(
    case: CaseDep, request: Request, session: SessionDep, params: EventList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/events", status_code=201, name="createEvent", responses=http.CREATE, response_model=EventRead
)
async def create_event(
    case: CaseDep, body: EventCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    event = await service.create_event(session, case, body)
    return http.created(request, event, EventRead, "getEvent", event_id=event.id)


@router.get("/events", name="listEvents", responses=http.LIST, response_model=Page[EventRead])
async def list_events(
    request: Request,
    session: SessionDep,
    params: EventList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get("/events/{event_id}", name="getEvent", responses=http.READ, response_model=EventRead)
async def get_event(event: EventDep, fields: EventFields) -> JSONResponse:
    return http.record_response(event, EventRead, fields=fields)


@router.patch("/events/{event_id}", name="updateEvent", responses=http.UPDATE, response_model=EventRead)
async def update_event(body: EventUpdate, event: EventDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_event(session, event, body), EventRead)


@router.delete("/events/{event_id}", status_code=204, name="deleteEvent", responses=http.DELETE)
async def delete_event(event: EventDep, session: SessionDep) -> None:
    await service.delete_event(session, event)

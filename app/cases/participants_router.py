from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases import service
from app.cases.dependencies import CaseDep
from app.cases.models import Participant
from app.cases.schemas import ParticipantCreate, ParticipantRead, ParticipantRole, ParticipantUpdate
from app.db import SessionDep
from app.filters import choice_list, choices, query_filters
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page

router = APIRouter(tags=["participants"])
ParticipantList = Annotated[ListParams, Depends(list_params(ParticipantRead, service.PARTICIPANT_SORTING))]
ParticipantFields = Annotated[set[str] | None, Depends(record_fields(ParticipantRead))]


async def load_participant(participant_id: str, session: SessionDep, request: Request) -> Participant:
    return await http.load(request, session, Participant, participant_id, "participant")


ParticipantDep = Annotated[Participant, Depends(load_participant)]


@dataclass
class ParticipantFilters:
    person_id: Annotated[str | None, Query(max_length=32)] = None
    role: Annotated[str | None, choice_list(ParticipantRole, "Participants in these roles.", "lawyer")] = None


FiltersDep = Annotated[ParticipantFilters, Depends(query_filters(ParticipantFilters))]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: ParticipantFilters, case_id: str | None
) -> Response:
    stmt = service.participants_query(
        case_id=case_id, person_id=filters.person_id, role=choices(filters.role, ParticipantRole, "role")
    )
    return await respond(request, session, stmt, params)


@router.get(
    "/cases/{case_id}/participants",
    name="listCaseParticipants",
    responses=http.LIST_CASE,
    response_model=Page[ParticipantRead],
)
async def list_case_participants(
    case: CaseDep, request: Request, session: SessionDep, params: ParticipantList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/participants",
    status_code=201,
    name="createParticipant",
    responses=http.CREATE,
    response_model=ParticipantRead,
)
async def create_participant(
    case: CaseDep, body: ParticipantCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    participant = await service.create_participant(session, case, body)
    return http.created(request, participant, ParticipantRead, "getParticipant", participant_id=participant.id)


@router.get("/participants", name="listParticipants", responses=http.LIST, response_model=Page[ParticipantRead])
async def list_participants(
    request: Request,
    session: SessionDep,
    params: ParticipantList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get(
    "/participants/{participant_id}", name="getParticipant", responses=http.READ, response_model=ParticipantRead
)
async def get_participant(participant: ParticipantDep, fields: ParticipantFields) -> JSONResponse:
    return http.record_response(participant, ParticipantRead, fields=fields)


@router.patch(
    "/participants/{participant_id}", name="updateParticipant", responses=http.UPDATE, response_model=ParticipantRead
)
async def update_participant(body: ParticipantUpdate, participant: ParticipantDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_participant(session, participant, body), ParticipantRead)


@router.delete("/participants/{participant_id}", status_code=204, name="deleteParticipant", responses=http.DELETE)
async def delete_participant(participant: ParticipantDep, session: SessionDep) -> None:
    await service.delete_case_record(session, participant)

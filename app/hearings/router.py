from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases.dependencies import CaseDep
from app.db import SessionDep
from app.filters import choices
from app.hearings import service
from app.hearings.filters import FiltersDep, HearingFilters
from app.hearings.models import Hearing
from app.hearings.schemas import HearingCreate, HearingKind, HearingRead, HearingUpdate
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page

router = APIRouter(tags=["hearings"])
HearingList = Annotated[ListParams, Depends(list_params(HearingRead, service.HEARING_SORTING))]
HearingFields = Annotated[set[str] | None, Depends(record_fields(HearingRead))]


async def load_hearing(hearing_id: str, session: SessionDep, request: Request) -> Hearing:
    return await http.load(request, session, Hearing, hearing_id, "hearing")


HearingDep = Annotated[Hearing, Depends(load_hearing)]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: HearingFilters, case_id: str | None
) -> Response:
    stmt = service.hearings_query(
        case_id=case_id,
        kind=choices(filters.kind, HearingKind, "kind"),
        court_id=filters.court_id,
        judge_id=filters.judge_id,
        public=filters.public,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return await respond(request, session, stmt, params)


@router.get(
    "/cases/{case_id}/hearings", name="listCaseHearings", responses=http.LIST_CASE, response_model=Page[HearingRead]
)
async def list_case_hearings(
    case: CaseDep, request: Request, session: SessionDep, params: HearingList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/hearings",
    status_code=201,
    name="createHearing",
    responses=http.CREATE,
    response_model=HearingRead,
)
async def create_hearing(
    case: CaseDep, body: HearingCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    hearing = await service.create_hearing(session, case, body)
    return http.created(request, hearing, HearingRead, "getHearing", hearing_id=hearing.id)


@router.get("/hearings", name="listHearings", responses=http.LIST, response_model=Page[HearingRead])
async def list_hearings(
    request: Request,
    session: SessionDep,
    params: HearingList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get("/hearings/{hearing_id}", name="getHearing", responses=http.READ, response_model=HearingRead)
async def get_hearing(hearing: HearingDep, fields: HearingFields) -> JSONResponse:
    return http.record_response(hearing, HearingRead, fields=fields)


@router.patch("/hearings/{hearing_id}", name="updateHearing", responses=http.UPDATE, response_model=HearingRead)
async def update_hearing(body: HearingUpdate, hearing: HearingDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_hearing(session, hearing, body), HearingRead)


@router.delete("/hearings/{hearing_id}", status_code=204, name="deleteHearing", responses=http.DELETE)
async def delete_hearing(hearing: HearingDep, session: SessionDep) -> None:
    await service.delete_hearing(session, hearing)

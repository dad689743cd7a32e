from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases import service
from app.cases.dependencies import CaseDep
from app.cases.schemas import CaseCreate, CaseRead, CaseStatus, CaseUpdate, ParticipantRole
from app.db import SessionDep
from app.filters import CountryFilter, SearchQuery, choice_list, choices
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page
from app.schemas import NFC
from app.timeline.embedding import CaseWithRecords, Include, case_with_records

router = APIRouter(prefix="/cases", tags=["cases"])
CaseList = Annotated[ListParams, Depends(list_params(CaseRead, service.CASE_SORTING))]
CaseFields = Annotated[
    set[str] | None,
    Depends(record_fields(CaseRead, "of the case itself; what `include` embeds comes whatever this says")),
]


@router.get("", name="listCases", responses=http.LIST, response_model=Page[CaseRead])
async def list_cases(
    request: Request,
    session: SessionDep,
    params: CaseList,
    country: CountryFilter = None,
    status: Annotated[str | None, choice_list(CaseStatus, "Cases in these statuses.", "trial,appeal")] = None,
    person_id: Annotated[str | None, Query(max_length=32, description="Cases this person takes part in.")] = None,
    role: Annotated[
        str | None,
        choice_list(ParticipantRole, "With or without person_id: cases with a participant in these roles."),
    ] = None,
    statute: Annotated[
        str | None, Query(max_length=300, description="Cases with a charge under this statute."), NFC
    ] = None,
    q: SearchQuery = None,
) -> Response:
    stmt = service.cases_query(
        country=country,
        status=choices(status, CaseStatus, "status"),
        person_id=person_id,
        role=choices(role, ParticipantRole, "role"),
        statute=statute,
    )
    found = service.case_matches(session, q)
    return await respond(request, session, stmt, params, search=found)


@router.post("", status_code=201, name="createCase", responses=http.CREATE, response_model=CaseRead)
async def create_case(body: CaseCreate, request: Request, response: Response, session: SessionDep) -> JSONResponse:
    case = await service.create_case(session, body)
    return http.created(request, case, CaseRead, "getCase", case_id=case.id)


@router.get(
    "/{case_id}",
    name="getCase",
    responses=http.READ,
    response_model=CaseWithRecords,
    response_model_exclude_unset=True,
    description="The case. `include` embeds, in the same response, the records inside the case, the "
    "people and organizations they name, the sources cited, and the timeline: one request for a whole case. "
    "`fields` trims the case's own fields only: the lists `include` asks for come whole.",
)
async def get_case(
    case: CaseDep,
    session: SessionDep,
    include: Annotated[
        str | None,
        choice_list(Include, "Records to embed.", "participants,charges,sentences,hearings,outcomes,events,sources"),
    ] = None,
    fields: CaseFields = None,
) -> JSONResponse:
    picked = set(choices(include, Include, "include") or [])
    body = http.only(await case_with_records(session, case, picked), fields, own=CaseRead.model_fields)
    # The tag hashes the whole body, embedded records included, and carries the case's version for If-Match.
    return http.versioned(body, case)


@router.patch("/{case_id}", name="updateCase", responses=http.UPDATE, response_model=CaseRead)
async def update_case(body: CaseUpdate, case: CaseDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_case(session, case, body), CaseRead)


@router.delete(
    "/{case_id}",
    status_code=204,
    name="deleteCase",
    responses=http.DELETE,
    description="Deletes the case and every record inside it (participants, charges, sentences, hearings, "
    "outcomes, events). People, organizations and sources stay.",
)
async def delete_case(case: CaseDep, session: SessionDep) -> None:
    await service.delete_case(session, case)

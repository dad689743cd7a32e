from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases.dependencies import CaseDep
from app.db import SessionDep
from app.filters import CountryFilter, DateFrom, DateTo, choice_list, choices, query_filters
from app.hearings import service
from app.hearings.models import Outcome
from app.hearings.schemas import OutcomeCreate, OutcomeKind, OutcomeRead, OutcomeUpdate
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page

router = APIRouter(tags=["outcomes"])
OutcomeList = Annotated[ListParams, Depends(list_params(OutcomeRead, service.OUTCOME_SORTING))]
OutcomeFields = Annotated[set[str] | None, Depends(record_fields(OutcomeRead))]


async def load_outcome(outcome_id: str, session: SessionDep, request: Request) -> Outcome:
    return await http.load(request, session, Outcome, outcome_id, "outcome")


OutcomeDep = Annotated[Outcome, Depends(load_outcome)]


@dataclass
class OutcomeFilters:
    kind: Annotated[str | None, choice_list(OutcomeKind, "Outcomes of these kinds.", "parole_denied")] = None
    hearing_id: Annotated[str | None, Query(max_length=32)] = None
    person_id: Annotated[str | None, Query(max_length=32)] = None
    country: Annotated[CountryFilter, Query(description="Country of the case (ISO 3166-1 alpha-2, in capitals).")] = (
        None
    )
    date_from: DateFrom = None
    date_to: DateTo = None


FiltersDep = Annotated[OutcomeFilters, Depends(query_filters(OutcomeFilters))]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: OutcomeFilters, case_id: str | None
) -> Response:
    stmt = service.outcomes_query(
        case_id=case_id,
        kind=choices(filters.kind, OutcomeKind, "kind"),
        hearing_id=filters.hearing_id,
        person_id=filters.person_id,
        country=filters.country,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return await respond(request, session, stmt, params)


@router.get(
    "/cases/{case_id}/outcomes", name="listCaseOutcomes", responses=http.LIST_CASE, response_model=Page[OutcomeRead]
)
async def list_case_outcomes(
    case: CaseDep, request: Request, session: SessionDep, params: OutcomeList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/outcomes",
    status_code=201,
    name="createOutcome",
    responses=http.CREATE,
    response_model=OutcomeRead,
)
async def create_outcome(
    case: CaseDep, body: OutcomeCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    outcome = await service.create_outcome(session, case, body)
    return http.created(request, outcome, OutcomeRead, "getOutcome", outcome_id=outcome.id)


@router.get("/outcomes", name="listOutcomes", responses=http.LIST, response_model=Page[OutcomeRead])
async def list_outcomes(
    request: Request,
    session: SessionDep,
    params: OutcomeList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get("/outcomes/{outcome_id}", name="getOutcome", responses=http.READ, response_model=OutcomeRead)
async def get_outcome(outcome: OutcomeDep, fields: OutcomeFields) -> JSONResponse:
    return http.record_response(outcome, OutcomeRead, fields=fields)


@router.patch("/outcomes/{outcome_id}", name="updateOutcome", responses=http.UPDATE, response_model=OutcomeRead)
async def update_outcome(body: OutcomeUpdate, outcome: OutcomeDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_outcome(session, outcome, body), OutcomeRead)


@router.delete("/outcomes/{outcome_id}", status_code=204, name="deleteOutcome", responses=http.DELETE)
async def delete_outcome(outcome: OutcomeDep, session: SessionDep) -> None:
    await service.delete_outcome(session, outcome)

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases import service
from app.cases.dependencies import CaseDep
from app.cases.models import Charge
from app.cases.schemas import ChargeCreate, ChargeRead, ChargeStatus, ChargeUpdate
from app.db import SessionDep
from app.filters import DateFrom, DateTo, choice_list, choices, query_filters
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page
from app.schemas import NFC

router = APIRouter(tags=["charges"])
ChargeList = Annotated[ListParams, Depends(list_params(ChargeRead, service.CHARGE_SORTING))]
ChargeFields = Annotated[set[str] | None, Depends(record_fields(ChargeRead))]


async def load_charge(charge_id: str, session: SessionDep, request: Request) -> Charge:
    return await http.load(request, session, Charge, charge_id, "charge")


ChargeDep = Annotated[Charge, Depends(load_charge)]


@dataclass
class ChargeFilters:
    person_id: Annotated[str | None, Query(max_length=32, description="The accused.")] = None
    status: Annotated[str | None, choice_list(ChargeStatus, "Charges in these statuses.")] = None
    statute: Annotated[str | None, Query(max_length=300, description="Exact statute text."), NFC] = None
    date_from: DateFrom = None
    date_to: DateTo = None


FiltersDep = Annotated[ChargeFilters, Depends(query_filters(ChargeFilters))]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: ChargeFilters, case_id: str | None
) -> Response:
    stmt = service.charges_query(
        case_id=case_id,
        person_id=filters.person_id,
        status=choices(filters.status, ChargeStatus, "status"),
        statute=filters.statute,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    return await respond(request, session, stmt, params)


@router.get(
    "/cases/{case_id}/charges", name="listCaseCharges", responses=http.LIST_CASE, response_model=Page[ChargeRead]
)
async def list_case_charges(
    case: CaseDep, request: Request, session: SessionDep, params: ChargeList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/charges", status_code=201, name="createCharge", responses=http.CREATE, response_model=ChargeRead
)
async def create_charge(
    case: CaseDep, body: ChargeCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    charge = await service.create_charge(session, case, body)
    return http.created(request, charge, ChargeRead, "getCharge", charge_id=charge.id)


@router.get("/charges", name="listCharges", responses=http.LIST, response_model=Page[ChargeRead])
async def list_charges(
    request: Request,
    session: SessionDep,
    params: ChargeList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get("/charges/{charge_id}", name="getCharge", responses=http.READ, response_model=ChargeRead)
async def get_charge(charge: ChargeDep, fields: ChargeFields) -> JSONResponse:
    return http.record_response(charge, ChargeRead, fields=fields)


@router.patch("/charges/{charge_id}", name="updateCharge", responses=http.UPDATE, response_model=ChargeRead)
async def update_charge(body: ChargeUpdate, charge: ChargeDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_charge(session, charge, body), ChargeRead)


@router.delete("/charges/{charge_id}", status_code=204, name="deleteCharge", responses=http.DELETE)
async def delete_charge(charge: ChargeDep, session: SessionDep) -> None:
    await service.delete_case_record(session, charge)

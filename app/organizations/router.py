from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.db import SessionDep
from app.filters import CountryFilter, SearchQuery, choice_list, choices
from app.listing import ListParams, list_params, record_fields, respond
from app.organizations import service
from app.organizations.models import Organization
from app.organizations.schemas import (
    OrganizationCreate,
    OrganizationKind,
    OrganizationRead,
    OrganizationUpdate,
)
from app.pagination import Page
from app.search import service as search

router = APIRouter(prefix="/organizations", tags=["organizations"])
OrganizationList = Annotated[ListParams, Depends(list_params(OrganizationRead, service.SORTING))]
OrganizationFields = Annotated[set[str] | None, Depends(record_fields(OrganizationRead))]


async def load_organization(organization_id: str, session: SessionDep, request: Request) -> Organization:
    return await http.load(request, session, Organization, organization_id, "organization")


OrganizationDep = Annotated[Organization, Depends(load_organization)]


@router.get("", name="listOrganizations", responses=http.LIST, response_model=Page[OrganizationRead])
async def list_organizations(
    request: Request,
    session: SessionDep,
    params: OrganizationList,
    kind: Annotated[str | None, choice_list(OrganizationKind, "Organizations of these kinds.", "prison,court")] = None,
    country: CountryFilter = None,
    q: SearchQuery = None,
) -> Response:
    stmt = service.organizations_query(kind=choices(kind, OrganizationKind, "kind"), country=country)
    found = search.matches(session, "organization", q)
    return await respond(request, session, stmt, params, search=found)


@router.post("", status_code=201, name="createOrganization", responses=http.CREATE, response_model=OrganizationRead)
async def create_organization(
    body: OrganizationCreate, request: Request, response: Response, session: SessionDep
) -> JSONResponse:
    organization = await service.create_organization(session, body)
    return http.created(request, organization, OrganizationRead, "getOrganization", organization_id=organization.id)


@router.get("/{organization_id}", name="getOrganization", responses=http.READ, response_model=OrganizationRead)
async def get_organization(organization: OrganizationDep, fields: OrganizationFields) -> JSONResponse:
    return http.record_response(organization, OrganizationRead, fields=fields)


@router.patch("/{organization_id}", name="updateOrganization", responses=http.UPDATE, response_model=OrganizationRead)
async def update_organization(
    body: OrganizationUpdate, organization: OrganizationDep, session: SessionDep
) -> JSONResponse:
    return http.record_response(await service.update_organization(session, organization, body), OrganizationRead)


@router.delete("/{organization_id}", status_code=204, name="deleteOrganization", responses=http.DELETE)
async def delete_organization(organization: OrganizationDep, session: SessionDep) -> None:
    await service.delete_organization(session, organization)

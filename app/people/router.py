from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases import service as cases
from app.cases.schemas import ParticipantRole, PersonDetail
from app.db import SessionDep
from app.filters import CountryFilter, SearchQuery, choice_list, choices
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page
from app.people import service
from app.people.models import Person
from app.people.schemas import PersonCreate, PersonRead, PersonUpdate
from app.search import service as search

router = APIRouter(prefix="/people", tags=["people"])
PersonList = Annotated[ListParams, Depends(list_params(PersonRead, service.SORTING))]
PersonFields = Annotated[set[str] | None, Depends(record_fields(PersonDetail))]


async def load_person(person_id: str, session: SessionDep, request: Request) -> Person:
    return await http.load(request, session, Person, person_id, "person")


PersonDep = Annotated[Person, Depends(load_person)]


@router.get("", name="listPeople", responses=http.LIST, response_model=Page[PersonRead])
async def list_people(
    request: Request,
    session: SessionDep,
    params: PersonList,
    country: CountryFilter = None,
    role: Annotated[
        str | None, choice_list(ParticipantRole, "People who take part in some case in one of these roles.")
    ] = None,
    case_id: Annotated[str | None, Query(max_length=32, description="People taking part in this case.")] = None,
    q: SearchQuery = None,
) -> Response:
    stmt = cases.taking_part(
        service.people_query(country=country), role=choices(role, ParticipantRole, "role"), case_id=case_id
    )
    found = search.matches(session, "person", q)
    return await respond(request, session, stmt, params, search=found)


@router.post("", status_code=201, name="createPerson", responses=http.CREATE, response_model=PersonRead)
async def create_person(body: PersonCreate, request: Request, response: Response, session: SessionDep) -> JSONResponse:
    person = await service.create_person(session, body)
    return http.created(request, person, PersonRead, "getPerson", person_id=person.id)


@router.get("/{person_id}", name="getPerson", responses=http.READ, response_model=PersonDetail)
async def get_person(person: PersonDep, session: SessionDep, fields: PersonFields) -> JSONResponse:
    detail = PersonRead.model_validate(person).model_dump(mode="json")
    if fields is None or "participations" in fields:
        detail["participations"] = [p.model_dump(mode="json") for p in await cases.participations(session, person.id)]
    return http.versioned(http.only(detail, fields), person)


@router.patch("/{person_id}", name="updatePerson", responses=http.UPDATE, response_model=PersonRead)
async def update_person(body: PersonUpdate, person: PersonDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_person(session, person, body), PersonRead)


@router.delete("/{person_id}", status_code=204, name="deletePerson", responses=http.DELETE)
async def delete_person(person: PersonDep, session: SessionDep) -> None:
    await service.delete_person(session, person)

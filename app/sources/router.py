from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.db import SessionDep
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page
from app.sources import service
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceRead, SourceUpdate

router = APIRouter(prefix="/sources", tags=["sources"])
SourceList = Annotated[ListParams, Depends(list_params(SourceRead, service.SORTING))]
SourceFields = Annotated[set[str] | None, Depends(record_fields(SourceRead))]


async def load_source(source_id: str, session: SessionDep, request: Request) -> Source:
    return await http.load(request, session, Source, source_id, "source")


SourceDep = Annotated[Source, Depends(load_source)]


@router.get("", name="listSources", responses=http.LIST, response_model=Page[SourceRead])
async def list_sources(request: Request, session: SessionDep, params: SourceList) -> Response:
    return await respond(request, session, service.sources_query(), params)


@router.post("", status_code=201, name="createSource", responses=http.CREATE, response_model=SourceRead)
async def create_source(body: SourceCreate, request: Request, response: Response, session: SessionDep) -> JSONResponse:
    source = await service.create_source(session, body)
    return http.created(request, source, SourceRead, "getSource", source_id=source.id)


@router.get("/{source_id}", name="getSource", responses=http.READ, response_model=SourceRead)
async def get_source(source: SourceDep, fields: SourceFields) -> JSONResponse:
    return http.record_response(source, SourceRead, fields=fields)


@router.patch("/{source_id}", name="updateSource", responses=http.UPDATE, response_model=SourceRead)
async def update_source(body: SourceUpdate, source: SourceDep, session: SessionDep) -> JSONResponse:
    return http.record_response(await service.update_source(session, source, body), SourceRead)


@router.delete("/{source_id}", status_code=204, name="deleteSource", responses=http.DELETE)
async def delete_source(source: SourceDep, session: SessionDep) -> None:
    await service.delete_source(session, source)

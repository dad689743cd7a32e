from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases import service
from app.cases.dependencies import CaseDep
from app.cases.models import Sentence
from app.cases.schemas import SentenceCreate, SentenceKind, SentenceRead, SentenceUpdate
from app.config import SettingsDep
from app.db import SessionDep
from app.filters import choice_list, choices, query_filters
from app.listing import ListParams, list_params, record_fields, respond
from app.pagination import Page

router = APIRouter(tags=["sentences"])
SentenceList = Annotated[ListParams, Depends(list_params(SentenceRead, service.SENTENCE_SORTING))]
SentenceFields = Annotated[set[str] | None, Depends(record_fields(SentenceRead))]


async def load_sentence(sentence_id: str, session: SessionDep, request: Request) -> Sentence:
    return await http.load(request, session, Sentence, sentence_id, "sentence")


SentenceDep = Annotated[Sentence, Depends(load_sentence)]


@dataclass
class SentenceFilters:
    person_id: Annotated[str | None, Query(max_length=32)] = None
    kind: Annotated[str | None, choice_list(SentenceKind, "Sentences of these kinds.")] = None
    facility_id: Annotated[str | None, Query(max_length=32)] = None


FiltersDep = Annotated[SentenceFilters, Depends(query_filters(SentenceFilters))]


async def _list(
    request: Request, session: SessionDep, params: ListParams, filters: SentenceFilters, case_id: str | None
) -> Response:
    stmt = service.sentences_query(
        case_id=case_id,
        person_id=filters.person_id,
        kind=choices(filters.kind, SentenceKind, "kind"),
        facility_id=filters.facility_id,
    )
    return await respond(request, session, stmt, params)


@router.get(
    "/cases/{case_id}/sentences", name="listCaseSentences", responses=http.LIST_CASE, response_model=Page[SentenceRead]
)
async def list_case_sentences(
    case: CaseDep, request: Request, session: SessionDep, params: SentenceList, filters: FiltersDep
) -> Response:
    return await _list(request, session, params, filters, case.id)


@router.post(
    "/cases/{case_id}/sentences",
    status_code=201,
    name="createSentence",
    responses=http.CREATE,
    response_model=SentenceRead,
)
async def create_sentence(
    case: CaseDep,
    body: SentenceCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    sentence = await service.create_sentence(session, case, body, settings)
    return http.created(request, sentence, SentenceRead, "getSentence", sentence_id=sentence.id)


@router.get("/sentences", name="listSentences", responses=http.LIST, response_model=Page[SentenceRead])
async def list_sentences(
    request: Request,
    session: SessionDep,
    params: SentenceList,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    return await _list(request, session, params, filters, case_id)


@router.get("/sentences/{sentence_id}", name="getSentence", responses=http.READ, response_model=SentenceRead)
async def get_sentence(sentence: SentenceDep, fields: SentenceFields) -> JSONResponse:
    return http.record_response(sentence, SentenceRead, fields=fields)


@router.patch("/sentences/{sentence_id}", name="updateSentence", responses=http.UPDATE, response_model=SentenceRead)
async def update_sentence(
    body: SentenceUpdate, sentence: SentenceDep, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    return http.record_response(await service.update_sentence(session, sentence, body, settings), SentenceRead)


@router.delete("/sentences/{sentence_id}", status_code=204, name="deleteSentence", responses=http.DELETE)
async def delete_sentence(sentence: SentenceDep, session: SessionDep) -> None:
    await service.delete_case_record(session, sentence)

"""History, restore and purge for every kind of record; the audit log; the changes feed."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from app import http, lifecycle
from app.audit import service
from app.audit.models import AuditEntry
from app.audit.schemas import Action, AuditEntryRead, ChangesPage
from app.auth.dependencies import AdminDep, ReaderDep
from app.db import SessionDep
from app.errors import InvalidQuery, NotFound
from app.listing import ListParams, Sorting, list_params, respond
from app.pagination import Page
from app.resources import RESOURCES, Resource

router = APIRouter(tags=["history"])

AUDIT_SORTING = Sorting({"seq": AuditEntry.seq, "at": AuditEntry.at}, default="seq", id_column=AuditEntry.seq)
MAX_CHANGES = 1000
SINCE_PATTERN = "^[0-9]+$"
LAST_POSSIBLE_SEQ = 2**63 - 1  # seq is a signed 64-bit integer on both databases
AuditList = Annotated[ListParams, Depends(list_params(AuditEntryRead, AUDIT_SORTING))]


def _history_route(resource: Resource) -> Any:
    async def history(
        record_id: str, request: Request, session: SessionDep, params: AuditList, viewer: ReaderDep
    ) -> Response:
        stmt = service.entries_query(resource.record_type, record_id)
        # A purged record's history outlives it: 404 only when nothing was ever recorded.
        if not await session.scalar(select(stmt.exists())):
            raise NotFound(f"No {resource.name} with id {record_id!r}")
        return await respond(request, session, stmt, params)

    return history


def _restore_route(resource: Resource) -> Any:
    async def restore(record_id: str, session: SessionDep, viewer: AdminDep) -> JSONResponse:
        record = await lifecycle.restore(session, resource, record_id)
        return http.record_response(record, resource.read)

    return restore


def _purge_route(resource: Resource) -> Any:
    async def purge(record_id: str, session: SessionDep, viewer: AdminDep) -> None:
        await lifecycle.purge(session, resource, record_id)

    return purge


for resource in RESOURCES:
    title = resource.name.capitalize()
    router.add_api_route(
        f"/{resource.path}/{{record_id}}/history",
        _history_route(resource),
        methods=["GET"],
        name=f"get{title}History",
        response_model=Page[AuditEntryRead],
        responses=http.READ | http.problem_responses(403),
        tags=["history"],
        description=f"Every change to the {resource.name}, oldest first (reader rights).",
    )
    router.add_api_route(
        f"/{resource.path}/{{record_id}}/restore",
        _restore_route(resource),
        methods=["POST"],
        name=f"restore{title}",
        response_model=resource.read,
        responses=http.problem_responses(401, 403, 404, 409),
        tags=["history"],
        description=f"Bring back a deleted {resource.name} (admin).",
    )
    router.add_api_route(
        f"/{resource.path}/{{record_id}}/purge",
        _purge_route(resource),
        methods=["POST"],
        status_code=204,
        name=f"purge{title}",
        responses=http.problem_responses(401, 403, 404, 409),
        tags=["history"],
        description=f"Remove a deleted {resource.name} for good (admin). The audit log keeps its history.",
    )


@router.get(
    "/audit",
    name="listAuditEntries",
    responses=http.LIST | http.problem_responses(403),
    response_model=Page[AuditEntryRead],
)
async def list_audit_entries(
    request: Request,
    session: SessionDep,
    params: AuditList,
    viewer: AdminDep,
    actor: Annotated[str | None, Query(max_length=100, description="Name of the token.")] = None,
    record_type: Annotated[str | None, Query(max_length=20, examples=["hearing"])] = None,
    action: Annotated[Action | None, Query()] = None,
) -> Response:
    stmt = service.entries_query(record_type)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return await respond(request, session, stmt, params)


@router.get(
    "/changes",
    name="listChanges",
    responses=http.LIST | http.problem_responses(403),
    description="Every change in commit order, deletions included, with each record's state after it: "
    "start with `since=0`, keep the `next` value and ask again later for what happened since (reader rights).",
)
async def list_changes(
    session: SessionDep,
    viewer: ReaderDep,
    since: Annotated[
        str,
        Query(
            max_length=20,
            description="`next` of the previous call; 0 to start.",
            json_schema_extra={"pattern": SINCE_PATTERN},
        ),
    ] = "0",
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES)] = 100,
) -> ChangesPage:
    if re.fullmatch(SINCE_PATTERN, since) is None:  # `isdigit` would take other scripts' digits
        raise InvalidQuery("since", "expected the `next` value of a previous call (a number), or 0")
    if int(since) > LAST_POSSIBLE_SEQ:
        raise InvalidQuery(
            "since",
            f"beyond the last possible change ({LAST_POSSIBLE_SEQ}); expected the `next` of a previous call, or 0",
        )
    rows = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.seq > int(since)).order_by(AuditEntry.seq).limit(limit)
        )
    ).all()
    next_since = str(rows[-1].seq) if rows else since
    return ChangesPage(items=[AuditEntryRead.model_validate(r) for r in rows], next=next_since)

"""HTTP details shared by routers."""

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import PROBLEM_JSON, PreconditionFailed
from app.records import RowLock, get_or_404

T = TypeVar("T")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document the problem+json answers an operation can give, for the OpenAPI schema."""
    descriptions = {
        400: "Malformed request: bad JSON, a query parameter this operation does not take, a forged cursor.",
        404: "No such record.",
        401: "No valid API token, and the operation needs one.",
        403: "The API token's role is not enough for this operation.",
        409: "The change conflicts with other records (for example, the record is still referenced).",
        412: "`If-Match` named another version: the record changed since it was read.",
        413: "The request body is too large.",
        415: "The body is not sent as JSON.",
        422: "A body field or query parameter with a value it cannot take; `errors` names each one.",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


READ = problem_responses(400, 401, 404, 422)
LIST = problem_responses(400, 401, 422)
LIST_CASE = problem_responses(400, 401, 404, 422)
CREATE = problem_responses(400, 401, 403, 404, 413, 415, 422)
UPDATE = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)
DELETE = problem_responses(400, 401, 403, 404, 409, 412)


def etag(record: Any) -> str:
    """A strong ETag from the record's version, which every update increments."""
    return f'"{record.version}"'


def record_response(record: Any, schema: type[BaseModel], status_code: int = 200) -> JSONResponse:
    """One record as JSON, with its ETag (so a client can send it back in ``If-Match``)."""
    body = schema.model_validate(record).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers={"ETag": etag(record)})


def created(request: Request, new: Any, schema: type[BaseModel], route_name: str, **path_params: Any) -> JSONResponse:
    response = record_response(new, schema, status_code=201)
    response.headers["Location"] = request.app.url_path_for(route_name, **path_params)
    return response


def check_if_match(request: Request, current: Any) -> None:
    """412 when the client's ``If-Match`` names a version other than the current one (RFC 9110 13.1.1)."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    if etag(current) not in [tag.strip() for tag in header.split(",")]:
        raise PreconditionFailed(
            f"The record has changed since you read it (its ETag is now {etag(current)}); reload it and retry."
        )


WRITES = frozenset({"PATCH", "PUT", "DELETE"})


def row_lock(method: str) -> RowLock | None:
    """How a request holds the record it is addressed to: a PATCH, PUT or DELETE changes it; a POST
    creates a record inside it (a case), which must not be deleted meanwhile; a read holds nothing."""
    if method in WRITES:
        return "update"
    return "share" if method == "POST" else None


async def load(request: Request, session: AsyncSession, model: type[T], record_id: str, label: str) -> T:
    """The record a route acts on, or a 404. A write holds it until it commits, so concurrent writes of one
    record take turns, each starting from the state the one before left (a write without ``If-Match`` is
    never refused for another's change); ``If-Match`` is checked against that state."""
    found = await get_or_404(session, model, record_id, label, lock=row_lock(request.method))
    if request.method in WRITES:
        check_if_match(request, found)
    return found

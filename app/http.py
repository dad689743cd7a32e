"""HTTP details shared by routers."""

import hashlib
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import NoMatchFound, Route

from app.errors import PROBLEM_JSON, PreconditionFailed
from app.records import RowLock, get_or_404

T = TypeVar("T")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document the problem+json answers an operation can give, for the OpenAPI schema."""
    descriptions = {
        400: "Malformed request: bad JSON, a query parameter this operation does not take or one given more "
        "than once (several values go comma-separated in one), a forged cursor.",
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


# A route serving one record's representation names the record's version here; ETagMiddleware turns
# it into the ETag and removes it. No route sets an ETag itself.
VERSION_HEADER = "x-casetrack-record-version"


def etag(body: bytes, version: int | None = None) -> str:
    """The one validator of every response, computed by ETagMiddleware from the exact body sent.

    The digest changes whenever the body does: when the record changes, and also when a record it
    names is hidden from this viewer (its id blanked) or what it embeds changes. A record's tag
    also carries its version, ``"<version>-<digest>"``, which ``If-Match`` compares; any other
    response gets a weak tag."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    return f'W/"{digest}"' if version is None else f'"{version}-{digest}"'


def versioned(body: Any, record: Any, status_code: int = 200) -> JSONResponse:
    """A JSON representation of ``record`` (with whatever it embeds); its ETag will carry the record's version."""
    return JSONResponse(body, status_code=status_code, headers={VERSION_HEADER: str(record.version)})


def record_response(
    record: Any, schema: type[BaseModel], status_code: int = 200, fields: set[str] | None = None
) -> JSONResponse:
    """One record as JSON, with its ETag (so a client can send it back in ``If-Match``); with ``fields``
    (see `app.listing.record_fields`) only those keys, and so another ETag, but the same version in it."""
    return versioned(schema.model_validate(record).model_dump(mode="json", include=fields), record, status_code)


def only(body: dict[str, Any], fields: set[str] | None, own: Any = None) -> dict[str, Any]:
    """``body`` trimmed to ``fields`` (all of it for None). With ``own`` (a collection of names), only those
    keys are trimmed: the others (what ``include=`` embeds) stay as they are."""
    if fields is None:
        return body
    return {key: value for key, value in body.items() if key in fields or (own is not None and key not in own)}


def path_for(request: Request, name: str, /, **path_params: Any) -> str:
    """``request.app.url_path_for(name, **path_params)``, the same path, without trying every route of the
    table in turn (a hundred of them, each refusing with an exception): the route of that name is looked up
    by name. Anything that lookup cannot settle exactly as the walk would (a name not in the index, path
    parameters that route does not take) goes the usual way."""
    # In the app's state: how many routes its table had, and the first plain route of each name before
    # anything else (a mount, an included router) in it.
    routes = request.app.router.routes
    indexed: tuple[int, dict[str, Route]] | None = getattr(request.app.state, "routes_by_name", None)
    if indexed is None or indexed[0] != len(routes):
        by_name: dict[str, Route] = {}
        for route in routes:
            if not isinstance(route, Route):
                break  # a mount or an included router may answer for names of its own from here on
            by_name.setdefault(route.name, route)
        indexed = request.app.state.routes_by_name = (len(routes), by_name)
    route = indexed[1].get(name)
    if route is not None:
        try:
            return str(route.url_path_for(name, **path_params))
        except NoMatchFound:
            pass
    return str(request.app.url_path_for(name, **path_params))


def created(request: Request, new: Any, schema: type[BaseModel], route_name: str, **path_params: Any) -> JSONResponse:
    response = record_response(new, schema, status_code=201)
    response.headers["Location"] = path_for(request, route_name, **path_params)
    return response


def tagged_version(tag: str) -> str | None:
    """The version a strong record tag carries (``"3-<digest>"`` or plain ``"3"``), None for any other tag."""
    tag = tag.strip()
    if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"':
        return None  # weak (W/...) or malformed: never matches If-Match (RFC 9110 13.1.1, strong comparison)
    version = tag[1:-1].split("-", 1)[0]
    return version if version.isdigit() else None


def check_if_match(request: Request, current: Any) -> None:
    """412 when the client's ``If-Match`` names a version other than the current one (RFC 9110 13.1.1).

    Only the version a tag carries is compared, not its digest: ``If-Match`` guards against lost
    updates of the record itself, and a writer's tag stays good when only what surrounds the record
    changed (a participation added, a named record restricted), which a write to it cannot lose."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    if str(current.version) not in {tagged_version(tag) for tag in header.split(",")}:
        raise PreconditionFailed(
            f"The record has changed since you read it (it is now at version {current.version}); reload it and retry."
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

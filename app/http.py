"""HTTP details shared by routers."""

from typing import Any

from fastapi import Request, Response

from app.errors import PROBLEM_JSON


def set_location(request: Request, response: Response, route_name: str, **path_params: Any) -> None:
    """``Location`` of a record just created (201)."""
    response.headers["Location"] = request.app.url_path_for(route_name, **path_params)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document the problem+json answers an operation can give, for the OpenAPI schema."""
    descriptions = {
        400: "Malformed request: bad JSON, unknown or malformed query parameter.",
        404: "No such record.",
        409: "The change conflicts with other records (for example, the record is still referenced).",
        415: "The body is not sent as JSON.",
        422: "The body is well-formed but invalid; `errors` names each field.",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


READ = problem_responses(400, 404)
LIST = problem_responses(400, 422)
LIST_CASE = problem_responses(400, 404, 422)
CREATE = problem_responses(400, 404, 415, 422)
UPDATE = problem_responses(400, 404, 415, 422)
DELETE = problem_responses(400, 404, 409)

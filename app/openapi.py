"""The OpenAPI document, finished: the Problem schema (RFC 9457) behind every error, the headers
and alternative media types the app really sends, and readable summaries, so a generated client
gets precise types."""

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What is wrong, for a human."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "For invalid input: one entry per offending field.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "message": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
    "example": {
        "type": "urn:casetrack:problem:validation-error",
        "title": "Invalid input",
        "status": 422,
        "detail": "date: '2015-13' is not a valid EDTF date",
        "instance": "/api/v1/cases/5f0c6a8c2d7e4a58b0b3a1c9e2f4d6a8/hearings",
        "errors": [{"field": "date", "loc": ["body", "date"], "message": "'2015-13' is not a valid EDTF date"}],
    },
}

ETAG = {"description": "Changes whenever the response body would.", "schema": {"type": "string"}}
LINK = {"description": 'RFC 8288 `<url>; rel="next"` when there is a next page.', "schema": {"type": "string"}}
LOCATION = {"description": "URL of the record just created.", "schema": {"type": "string"}}
NOT_MODIFIED = {"description": "Not modified: `If-None-Match` matched the current ETag."}


def _summary(operation_id: str) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", operation_id).lower().split()
    return " ".join(words).capitalize()


def _drop_null_from_query_params(operation: dict[str, Any]) -> None:
    # `str | None = None` in Python is "optional" in a URL: there is no null to send.
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = schema.get("anyOf")
        if options and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1:
                del schema["anyOf"]
                schema.update(rest[0])


def _finish(method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:  # FastAPI's own 422 shape; ours is the Problem document
        responses["422"]["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
    operation_id = operation.get("operationId", "")
    operation["summary"] = _summary(operation_id) if operation_id else operation.get("summary", "")
    _drop_null_from_query_params(operation)
    if method == "get" and "403" not in responses:
        # Reads of public records need no token; with one, restricted records become visible.
        operation["security"] = [{}, {"HTTPBearer": []}]
    ok = responses.get("200")
    if method == "get" and ok is not None:
        ok.setdefault("headers", {})["ETag"] = ETAG
        responses["304"] = NOT_MODIFIED
        if operation_id.startswith("list"):
            ok["headers"]["Link"] = LINK
            ok.setdefault("content", {})["text/csv"] = {
                "schema": {"type": "string", "description": "With `format=csv` or `Accept: text/csv`: every match."}
            }
    if "201" in responses:
        responses["201"].setdefault("headers", {})["Location"] = LOCATION


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM_SCHEMA
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for path in schema.get("paths", {}).values():
                for method, operation in path.items():
                    _finish(method, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The OpenAPI document, finished: the Problem schema (RFC 9457) behind every error, the headers
and alternative media types the app really sends, and readable summaries, so a generated client
gets precise types."""

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.listing import CSV_TEXT_RULE

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

ETAG = {
    "description": "Changes whenever the response body would (for this client: what a token may see counts). "
    'A record\'s tag, `"<version>-<digest>"`, carries its version: send it in `If-Match` when changing it.',
    "schema": {"type": "string"},
}
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
                # The parameter's own description and examples win over those of its type.
                schema.update({**rest[0], **schema})


def _takes(operation: dict[str, Any], name: str) -> bool:
    return any(p["in"] == "query" and p["name"] == name for p in operation.get("parameters", []))


def _is_list(operation: dict[str, Any]) -> bool:
    """A list rendered by app.listing (paged, `fields=`, CSV), as opposed to any other GET."""
    return _takes(operation, "fields") and _takes(operation, "cursor")


def _is_trimmable_record(operation: dict[str, Any]) -> bool:
    """One record's GET taking `fields=` (app.listing.record_fields)."""
    return _takes(operation, "fields") and not _takes(operation, "cursor")


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
        if _is_list(operation):
            ok["headers"]["Link"] = LINK
            ok.setdefault("content", {})["text/csv"] = {
                "schema": {
                    "type": "string",
                    "description": f"With `format=csv` or `Accept: text/csv`: every match. {CSV_TEXT_RULE}",
                }
            }
    if "201" in responses:
        responses["201"].setdefault("headers", {})["Location"] = LOCATION


def _sparse_page(components: dict[str, Any], ref: str) -> str:
    """The variant of a page schema whose items may lack any field: what a list answers with `fields=`."""
    name = ref.rsplit("/", 1)[-1]
    sparse = f"Sparse{name}"
    if sparse not in components:
        page = components[name]
        item_name = page["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[-1]
        item = {key: value for key, value in components[item_name].items() if key != "required"}
        item["title"] = f"{item['title']}, some fields"
        components[sparse] = {
            **page,
            "title": f"{page['title']}, some fields",
            "description": "A page of items answered with `fields=`: each item has only the fields asked for.",
            "properties": {**page["properties"], "items": {"type": "array", "items": item}},
        }
    return f"#/components/schemas/{sparse}"


def _sparse_record(components: dict[str, Any], ref: str) -> str:
    """The variant of a record schema that may lack any field: what one record answers with `fields=`."""
    name = ref.rsplit("/", 1)[-1]
    sparse = f"Sparse{name}"
    if sparse not in components:
        record = components[name]
        components[sparse] = {
            **{key: value for key, value in record.items() if key != "required"},
            "title": f"{record['title']}, some fields",
            "description": "The record answered with `fields=`: only the fields asked for.",
        }
    return f"#/components/schemas/{sparse}"


def _document_sparse_pages(schema: dict[str, Any]) -> None:
    """A list's JSON is a page of whole items, or with `fields=` a sparse page (and one record's JSON the
    whole record or a sparse one): JSON Schema cannot make the shape depend on a query parameter, so the
    document says "one or the other", the whole first (clients that never send `fields` can use its
    component, `Page_<Item>_` or the record's, as the precise type)."""
    components = schema["components"]["schemas"]
    for path in schema["paths"].values():
        for operation in path.values():
            sparse = (
                _sparse_page if _is_list(operation) else _sparse_record if _is_trimmable_record(operation) else None
            )
            if sparse is None:
                continue
            content = operation["responses"]["200"]["content"]["application/json"]
            ref = content["schema"]["$ref"]
            content["schema"] = {"anyOf": [{"$ref": ref}, {"$ref": sparse(components, ref)}]}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _body_properties(components: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    properties: dict[str, Any] = components.get(body.get("$ref", "").rsplit("/", 1)[-1], {}).get("properties", {})
    return properties


def _document_links(schema: dict[str, Any]) -> None:
    """OpenAPI links, so that clients (and Schemathesis' stateful tests) can go from one answer to the next
    call: from a created record (201 of `createX`) and a record read (200 of `getX`) to the operations on it
    and on the records inside it, the path parameter taken from the body's `id`; from a deleted record (204
    of `deleteX`) to its purge; from a created source to the new records that can cite it.

    History and restore are not linked: a deleted record's history stays readable, and a restored record
    is back, but Schemathesis' use-after-free check takes any read under a deleted record's URL for a bug."""
    components = schema["components"]["schemas"]
    operations = {
        operation["operationId"]: (path, operation)
        for path, item in schema["paths"].items()
        for operation in item.values()
    }

    def on_record(record_path: str, skip: str) -> dict[str, Any]:
        links = {}
        for operation_id, (path, operation) in operations.items():
            parameters = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            template, record = _template(path), _template(record_path)
            if operation_id == skip or len(parameters) != 1 or "history" in operation.get("tags", []):
                continue
            if template == record or template.startswith(record + "/"):
                links[operation_id] = {
                    "operationId": operation_id,
                    "parameters": {f"path.{parameters[0]}": "$response.body#/id"},
                }
        return links

    for operation_id, (_, operation) in operations.items():
        name = operation_id.removeprefix("create")
        record = operations.get(f"get{name}")
        if name == operation_id or "201" not in operation["responses"] or record is None:
            continue
        operation["responses"]["201"]["links"] = on_record(record[0], skip=operation_id)
        record[1]["responses"]["200"]["links"] = on_record(record[0], skip=f"get{name}")
        param = re.findall(r"\{([^}]*)\}", record[0])[-1]
        operations[f"delete{name}"][1]["responses"]["204"]["links"] = {
            f"purge{name}": {"operationId": f"purge{name}", "parameters": {"path.record_id": f"$request.path.{param}"}}
        }

    citing = {
        operation_id: {
            "operationId": operation_id,
            "requestBody": {"source_ids": ["$response.body#/id"]},
            "description": "A new record citing this source (its other fields are up to the client).",
        }
        for operation_id, (path, operation) in operations.items()
        if "{" not in path and "source_ids" in _body_properties(components, operation)
    }
    operations["createSource"][1]["responses"]["201"]["links"].update(citing)


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
            _document_sparse_pages(schema)
            _document_links(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the schema

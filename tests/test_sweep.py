"""The adversarial sweep: every channel the service has, read as the public, shows nothing hidden.

A world (tests/sweep_world.py) holds records of every kind hidden every way (restricted, inside a
restricted, deleted or purged case, deleted, purged, a participant who is a restricted person, made
restricted after being public), named by public records and citing restricted sources. The channels
are not listed by hand: every route of the app is walked, its path parameters filled with the ids
of public and of hidden records and its query parameters with every value its documentation allows
(every sort, field, format, kind, `include`...) and with the ids, words and countries of hidden
records (filters, `q=`, `statute=`), the `next` cursors followed to the end. Then:

- no public response (body or header) holds the id or any word of a hidden record;
- a request naming a hidden record answers exactly what it answers for one that never existed (the
  same status, headers and body, the name aside);
- every `count` equals the number of items the pages hold;
- routes documented as needing a role refuse the public;
- the same scan as an admin does find every hidden record, so a blind scan cannot pass.

Raw bodies are scanned as sent (iCalendar lines unfolded, nothing decoded): a cursor is opaque here.

The second part checks validators: a public record whose representation depends on another record
(a name, a citation, a participation) changes its ETag when that record is hidden.
"""

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import Mount

from app.auth.roles import Role
from app.cases.schemas import PersonDetail
from app.config import Settings
from app.main import create_app
from app.resources import RESOURCES
from tests.databases import add_token, migrated_database
from tests.helpers import API, collection, make_case, make_organization, make_person, make_source, post
from tests.sweep_world import (
    HIDDEN_COUNTRIES,
    HIDDEN_YEAR,
    HIDDEN_YEAR_PATTERN,
    PUBLIC_COUNTRY,
    UNUSED_COUNTRY,
    World,
    build_world,
    word,
)

ADMIN = "sweep-admin"
BASE_URL = "http://casetrack.test"

# Query parameters naming a record, by the kind of record they name. A parameter the sweep does not
# know fails the sweep (see `values`), so a new filter cannot go untested.
ID_PARAMS = {
    "person_id": "people",
    "judge_id": "people",
    "organization_id": "organizations",
    "court_id": "organizations",
    "facility_id": "organizations",
    "case_id": "cases",
    "hearing_id": "hearings",
    "source_id": "sources",
}
PAGING = {"limit", "cursor", "since"}
MAX_PAGES = 200
# Headers that differ between any two requests.
UNRELATED_HEADERS = {"x-request-id", "date", "content-length", "etag"}


@dataclass
class Sweep:
    world: World
    app: FastAPI
    public: httpx.AsyncClient
    admin: httpx.AsyncClient
    database: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def sweep(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sweep]:
    """The world, committed in a database of its own, and the app serving it to the public and to an admin."""
    async with migrated_database(request.param, tmp_path_factory.mktemp("sweep")) as url:
        settings = Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")
        token = await add_token(settings, ADMIN, Role.admin)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with (
                httpx.AsyncClient(transport=transport, base_url=BASE_URL) as public,
                httpx.AsyncClient(
                    transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
                ) as admin,
            ):
                yield Sweep(await build_world(admin), app, public, admin, request.param)
        finally:
            await app.state.engine.dispose()


# The channels, from the app itself


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    params: dict[str, dict[str, Any]]  # query parameter -> its JSON schema
    needs_role: bool  # documented as refused (403) to a token without the role, so refused to the public


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {**document["components"]["schemas"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _query_params(dependant: Dependant) -> list[str]:
    names = [p.alias for p in dependant.query_params]
    for sub in dependant.dependencies:
        names += [name for name in _query_params(sub) if name not in names]
    return names


def app_routes(app: FastAPI) -> list[Route]:
    """Every route of the app with its query parameters: documented ones with their schema, the pages'
    (left out of the OpenAPI document) with the schema the same name has in the API."""
    document = app.openapi()
    by_name: dict[str, dict[str, Any]] = {}
    documented: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            query = {
                p["name"]: _resolve(p["schema"], document)
                for p in operation.get("parameters", [])
                if p["in"] == "query"
            }
            documented[(path, method.upper())] = query
            for name, schema in query.items():
                by_name.setdefault(name, schema)
    routes = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, Mount):
            continue  # static files
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            if not isinstance(original, APIRoute):
                routes.append(Route(context.path, method, {}, False))
                continue
            names = _query_params(context.dependant)
            schemas = documented.get((context.path, method))
            params = {name: (schemas or by_name).get(name, {}) for name in names}
            responses = document["paths"].get(context.path, {}).get(method.lower(), {}).get("responses", {})
            routes.append(Route(context.path, method, params, "403" in responses and method == "GET"))
    return routes


@dataclass(frozen=True)
class Value:
    value: str
    secret: str | None = None  # the hidden id, word or country the value names
    stand_in: str | None = None  # the same value naming nothing that exists

    @staticmethod
    def probe(secret: str, stand_in: str) -> "Value":
        return Value(secret, secret, stand_in)


def _choices(schema: dict[str, Any]) -> list[str] | None:
    """The names a comma-separated list parameter takes, from its documented pattern."""
    found = re.search(r"\(\?:([\w|]+)\)", schema.get("pattern", ""))
    return found.group(1).split("|") if found else None


def values(name: str, schema: dict[str, Any], world: World) -> list[Value]:
    """Every value worth sending in ``name``: each documented choice, and whatever names a hidden record."""
    if name in PAGING or name == "sort":
        return []  # paged through, see `variants`
    if name in ID_PARAMS:
        # A loner is linked to nothing public: filtering by it finds what filtering by nothing finds.
        kind = ID_PARAMS[name]
        named = [Value(i) for i in world.public[kind] if i != world.loners.get(kind)]
        hidden = [i for _, i in world.hidden[kind]] + ([world.loners[kind]] if kind in world.loners else [])
        return named + [Value.probe(i, uuid.uuid4().hex) for i in hidden]
    if name == "q":
        return [Value(w) for w in world.public_words[:3]] + [
            Value.probe(w, word("hid")) for w in world.searchable_hidden_words
        ]
    if name == "country":
        return [Value(PUBLIC_COUNTRY)] + [Value.probe(code, UNUSED_COUNTRY) for code in HIDDEN_COUNTRIES]
    if name == "statute":
        return [
            Value(s) if why == "public" else Value.probe(s, f"Art. {word('hid')}") for s, why in world.statutes.items()
        ]
    if name == "actor":
        return [Value(ADMIN)]
    if name == "record_type":
        return [Value(resource.record_type) for resource in RESOURCES]
    if name == "fields":
        fields = _choices(schema) or []
        return [Value(f) for f in fields] + [Value(",".join(fields))]
    if "enum" in schema:
        return [Value(v) for v in schema["enum"]]
    if schema.get("type") == "boolean":
        return [Value("true"), Value("false")]
    if "EDTF" in schema.get("description", ""):
        # Only hidden records fall in the hidden year: a window on it finds what one on the year before does.
        return [Value("2012"), Value("2012-10-08"), Value.probe(HIDDEN_YEAR, str(int(HIDDEN_YEAR) - 1))]
    choices = _choices(schema)
    if choices:
        return [Value(c) for c in choices] + ([Value(",".join(choices))] if len(choices) > 1 else [])
    raise AssertionError(f"the sweep does not know what to send in {name!r}: teach `values` about it")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    secret: str | None = None
    stand_in: str | None = None
    follow: bool = False  # page through `next` to the end

    def instead(self) -> "Request":
        """The same request naming a record that never existed instead of the hidden one."""
        assert self.secret is not None and self.stand_in is not None
        swap = lambda text: text.replace(self.secret, self.stand_in)  # noqa: E731
        return Request(self.method, swap(self.path), {k: swap(v) for k, v in self.params.items()})


def _kind_of(path: str, parameter: str) -> str:
    """The kind a path parameter names: the segment before it (`/people/{person_id}`)."""
    segments = path.split("/")
    return segments[segments.index(f"{{{parameter}}}") - 1]


def variants(route: Route, world: World) -> list[Request]:
    """The requests the sweep sends to one route."""
    queries: list[tuple[dict[str, str], Value | None]] = [({}, None)]
    for name, schema in route.params.items():
        queries += [({name: v.value}, v if v.secret else None) for v in values(name, schema, world)]
    if "limit" in route.params and route.needs_role:  # the admin's control: every entry, a few pages
        queries.append(({"limit": "100"}, None))
    elif "limit" in route.params:  # every order, two items a page (so pages end among hidden rows), to the end
        sorts = [None]
        if "sort" in route.params:
            names = _choices(route.params["sort"]) or []
            sorts = [s for n in names for s in (n, f"-{n}")]
        queries += [({"limit": "2"} | ({"sort": s} if s else {}), None) for s in sorts]
    if "count" in route.params:
        queries = [({"count": "true"} | q, v) for q, v in queries]

    holes = re.findall(r"{(\w+)}", route.path)
    assert len(holes) <= 1, route.path
    if not holes:
        fillings: list[tuple[str, Value | None]] = [(route.path, None)]
    else:
        kind = _kind_of(route.path, holes[0])
        hole = f"{{{holes[0]}}}"
        fillings = [(route.path.replace(hole, i), None) for i in world.public[kind]]
        fillings += [(route.path.replace(hole, i), Value.probe(i, uuid.uuid4().hex)) for _, i in world.hidden[kind]]

    requests = []
    for n, (path, path_probe) in enumerate(fillings):
        for query, query_probe in queries:
            asks = set(query) - {"count"}
            if asks and route.needs_role and "limit" not in asks:
                continue  # refused to the public whatever the query; the admin's control needs no more
            if asks and n > 0 and not path_probe:
                continue  # every query on the first public record (the richest); the others as they are
            if path_probe and query_probe:
                continue  # one secret a request
            if path_probe and asks - {"format", "include"}:
                continue  # a hidden path is a 404 whatever the query: its shape is enough
            probe = path_probe or query_probe
            follow = "limit" in query
            requests.append(
                Request(
                    route.method,
                    path,
                    query,
                    probe.secret if probe else None,
                    probe.stand_in if probe else None,
                    follow,
                )
            )
    return requests


# Sending and recording


def readable(response: httpx.Response) -> str:
    """The response as the scan reads it: headers and body, iCalendar's folded lines joined back."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    body = response.text.replace("\r\n ", "").replace("\n ", "")
    return f"{headers}\n\n{body}"


@dataclass
class Transcript:
    who: str
    texts: list[tuple[Request, str]] = field(default_factory=list)  # (request, what came back)
    told_apart: set[str] = field(default_factory=set)  # secrets whose probes answered unlike a stand-in
    unlike_a_stand_in: list[str] = field(default_factory=list)  # probes answered otherwise than a stand-in
    server_errors: list[str] = field(default_factory=list)
    miscounted: list[str] = field(default_factory=list)
    requests: int = 0

    async def send(self, http: httpx.AsyncClient, request: Request) -> httpx.Response:
        self.requests += 1
        url = request.path
        body = {} if request.method != "GET" else None
        response = await http.request(request.method, url, params=request.params, json=body)
        if response.status_code >= 500:
            self.server_errors.append(f"{request.method} {url} {request.params}: {response.status_code}")
        return response

    async def read(self, http: httpx.AsyncClient, request: Request) -> None:
        where = f"{request.method} {request.path} {request.params}"
        response = await self.send(http, request)
        text = readable(response)
        if request.secret is not None:
            never = await self.send(http, request.instead())
            if _same(response, never, request.secret, request.stand_in or ""):
                text = text.replace(request.secret, "<the probe>")  # the request's own words, echoed
            else:
                self.told_apart.add(request.secret)
                self.unlike_a_stand_in.append(f"{where}: {response.status_code} vs {never.status_code}")
        self.texts.append((request, text))
        if request.follow and response.status_code == 200:
            await self.page_through(http, request, response)

    async def page_through(self, http: httpx.AsyncClient, request: Request, first: httpx.Response) -> None:
        body, pages, items = first.json(), 1, 0
        total = body.get("count")
        cursor_name = "since" if "since" in request.params or request.path.endswith("/changes") else "cursor"
        while True:
            items += len(body["items"])
            if not body.get("next") or not body["items"] or pages >= MAX_PAGES:
                break
            following = Request(request.method, request.path, {**request.params, cursor_name: body["next"]})
            response = await self.send(http, following)
            assert response.status_code == 200, f"{following}: {response.status_code} {response.text}"
            self.texts.append((following, readable(response)))
            body, pages = response.json(), pages + 1
        if total is not None and total != items:
            self.miscounted.append(f"{request.path} {request.params}: count {total}, {items} items in {pages} pages")

    def dated(self, pattern: str) -> list[str]:
        return [f"{r.method} {r.path} {r.params}" for r, text in self.texts if re.search(pattern, text)]

    def holding(self, secret: str, but: Any = lambda request: False) -> list[str]:
        """Where ``secret`` was seen (in answers to requests ``but`` does not single out)."""
        lowered = secret.lower()
        return [f"{r.method} {r.path} {r.params}" for r, text in self.texts if lowered in text.lower() and not but(r)]


def _same(found: httpx.Response, never: httpx.Response, secret: str, stand_in: str) -> bool:
    """The two answers are one and the same, but for the name each request sent."""
    if found.status_code != never.status_code:
        return False
    if found.text not in (never.text, never.text.replace(stand_in, secret)):
        return False
    names = (set(found.headers) | set(never.headers)) - UNRELATED_HEADERS
    for name in names:
        mine, theirs = found.headers.get(name), never.headers.get(name)
        if mine != theirs and (theirs is None or mine != theirs.replace(stand_in, secret)):
            return False
    # The body's hash: the same body has the same tag (unless the body echoes the request).
    return secret in found.text or found.headers.get("etag") == never.headers.get("etag")


# Parameters that relate records: a list filtered by one shows links, not just the records themselves.
RELATING = {*ID_PARAMS, "role"}


def loner_alone(kind: str, loner: str) -> Any:
    """Where a loner may be seen: its own record, and the unfiltered list of its kind."""

    def itself(request: Request) -> bool:
        if request.path == f"{API}/{kind}/{loner}":
            return True
        return request.path == f"{API}/{kind}" and not set(request.params) & RELATING

    return itself


def _summary(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {what: places[:3] for what, places in found.items() if places}


async def test_no_channel_shows_the_public_anything_hidden(sweep: Sweep) -> None:
    world = sweep.world
    routes = app_routes(sweep.app)
    started = time.perf_counter()
    public, admin = Transcript("public"), Transcript("admin")
    refused: list[str] = []
    for route in routes:
        for request in variants(route, world):
            if route.method == "GET":
                await admin.read(sweep.admin, request)
                await public.read(sweep.public, request)
            elif request.secret is not None:  # writes: the public is refused alike, and the admin writes nothing
                await public.read(sweep.public, request)
        if route.needs_role and "{" not in route.path:
            response = await public.send(sweep.public, Request(route.method, route.path, {}))
            if response.status_code != 401:
                refused.append(f"{route.path}: {response.status_code}")
    # Last, what the service says about itself after all that (metrics, health), as the public.
    for route in routes:
        if route.method == "GET" and not route.path.startswith(API) and "{" not in route.path:
            await public.read(sweep.public, Request("GET", route.path, {}))
    elapsed = time.perf_counter() - started
    print(f"\nsweep on {sweep.database}: {public.requests} public and {admin.requests} admin requests, {elapsed:.1f} s")

    secrets = world.secrets()
    assert public.server_errors == [] and admin.server_errors == []
    assert _summary({f"{what} {s}": public.holding(s) for s, what in secrets.items()}) == {}
    loners = {
        (kind, loner, name): loner_alone(kind, loner)
        for kind, loner in world.loners.items()
        for name in (loner, world.words[loner])
    }
    assert _summary({f"loner {k}": public.holding(name, but=alone) for (k, _, name), alone in loners.items()}) == {}
    assert public.dated(HIDDEN_YEAR_PATTERN)[:3] == []
    assert public.unlike_a_stand_in == []
    assert public.miscounted == [] and admin.miscounted == []
    assert refused == []

    # The controls: the public scan reads the public records; the admin's, the hidden ones.
    assert [w for w in world.public_words if not public.holding(w)] == []
    assert [i for ids in world.public.values() for i in ids if not public.holding(i)] == []
    # (Countries show only on pages, which show no deleted case even to an admin.)
    seen_by_admin = {**world.hidden_ids(), **world.hidden_words, HIDDEN_COUNTRIES["BT"]: "restricted case's country"}
    assert {s: what for s, what in seen_by_admin.items() if not admin.holding(s)} == {}
    assert {i: what for i, what in world.hidden_ids().items() if i not in admin.told_apart} == {}
    assert admin.dated(HIDDEN_YEAR_PATTERN)
    assert [k for (k, _, name), alone in loners.items() if not admin.holding(name, but=alone)] == []
    filtered = {kind for route in routes for name in route.params if (kind := ID_PARAMS.get(name))}
    assert [k for k, loner in world.loners.items() if k in filtered and loner not in admin.told_apart] == []
    # (Search finds no deleted record, even for an admin.)
    findable = [w for w in world.searchable_hidden_words if not re.search("deleted|purged", world.hidden_words[w])]
    assert findable and [w for w in findable if w not in admin.told_apart] == []


# Validators: an ETag changes when the representation the public receives changes


@dataclass(frozen=True)
class Dependency:
    """A public record of ``kind`` whose ``field`` names a record of ``target``; hiding it changes the field."""

    kind: str
    field: str
    target: str
    hide: str = "restrict"  # or "delete"

    def __str__(self) -> str:
        return f"{self.kind}.{self.field}->{self.target}:{self.hide}"


REFERENCE_TARGETS = {
    "person_id": "people",
    "person_ids": "people",
    "named_person_ids": "people",
    "judge_id": "people",
    "organization_ids": "organizations",
    "court_id": "organizations",
    "facility_id": "organizations",
    "source_ids": "sources",
    "hearing_id": "hearings",
}


def dependencies() -> list[Dependency]:
    """From the read schemas: every field naming another record (a case's own records aside: hiding the
    case hides them), and a person's participations, which hiding a case, or the participant, changes."""
    found = []
    for resource in RESOURCES:
        for name in resource.read.model_fields:
            if name in ("id", "case_id") or not name.endswith(("_id", "_ids")):
                continue
            assert name in REFERENCE_TARGETS, f"{resource.path}.{name} names what? Teach REFERENCE_TARGETS"
            if resource.path == "participants" and name == "person_id":
                continue  # a participant who is a hidden person is hidden itself (tests/test_restricted.py)
            found.append(Dependency(resource.path, name, REFERENCE_TARGETS[name]))
    assert issubclass(PersonDetail, BaseModel) and "participations" in PersonDetail.model_fields
    found += [
        Dependency("people", "participations", "cases"),
        Dependency("people", "participations", "cases", "delete"),
        Dependency("people", "participations", "participants"),
        Dependency("people", "participations", "participants", "delete"),
    ]
    return found


async def _target(client: httpx.AsyncClient, target: str, case: str, person: str) -> str:
    if target == "people":
        return (await make_person(client, "Named person"))["id"]
    if target == "organizations":
        return (await make_organization(client, "Named prison"))["id"]
    if target == "sources":
        return (await make_source(client, title="Cited report"))["id"]
    if target == "hearings":
        return (await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": "2012-08-16"}))["id"]
    if target == "cases":
        other = (await make_case(client, "Another case"))["id"]
        await post(client, f"/cases/{other}/participants", {"person_id": person, "role": "lawyer"})
        return other
    assert target == "participants"
    return (await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "lawyer"}))["id"]


MINIMAL = {
    "people": {"name": "Public person"},
    "organizations": {"name": "Public organization"},
    "sources": {"title": "Public report"},
    "cases": {"title": "Public case"},
    "participants": {"role": "defendant"},
    "charges": {"description": "A charge"},
    "sentences": {"term_months": 90},
    "hearings": {"kind": "trial", "date": "2012-08-16"},
    "outcomes": {"kind": "convicted", "date": "2012-10-08"},
    "events": {"kind": "arrest", "date": "2012-01-23", "title": "Arrested"},
}


@pytest.mark.parametrize("dependency", dependencies(), ids=str)
async def test_hiding_a_record_changes_the_validators_of_public_records_naming_it(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, dependency: Dependency
) -> None:
    case = (await make_case(client, "The case"))["id"]
    person = (await make_person(client, "The defendant"))["id"]
    hidden = await _target(client, dependency.target, case, person)
    if dependency.field == "participations":
        path = f"/people/{person}"
    else:
        body = {**MINIMAL[dependency.kind]}
        if dependency.kind in ("participants", "sentences"):
            body["person_id"] = person
        body[dependency.field] = [hidden] if dependency.field.endswith("_ids") else hidden
        record = await post(client, collection(dependency.kind, case), body)
        path = f"/{dependency.kind}/{record['id']}"

    before = await anonymous.get(f"{API}{path}")
    assert before.status_code == 200 and hidden in before.text
    tag = before.headers["etag"]
    assert (await anonymous.get(f"{API}{path}", headers={"If-None-Match": tag})).status_code == 304

    if dependency.hide == "restrict":
        hiding = await client.patch(f"{API}/{dependency.target}/{hidden}", json={"restricted": True})
        assert hiding.status_code == 200, hiding.text
    else:
        assert (await client.delete(f"{API}/{dependency.target}/{hidden}")).status_code == 204

    after = await anonymous.get(f"{API}{path}")
    assert after.status_code == 200 and hidden not in after.text  # what the public receives has changed...
    assert after.headers["etag"] != tag  # ...so must its validator,
    again = await anonymous.get(f"{API}{path}", headers={"If-None-Match": tag})
    assert again.status_code == 200  # and the old one must not get a 304.
    assert hidden not in again.text

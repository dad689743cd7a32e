"""Read-only HTML pages: the list of cases (search and filters) and one case told for a person.

Every page reads through the same session rules as the JSON API: the viewer comes from the request's
Authorization header (app.auth.dependencies.current_viewer), so restricted records appear only for a
reader token, exactly as in the JSON the page links to.
"""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.auth.dependencies import bearer, current_viewer
from app.auth.roles import Viewer
from app.cases import service as cases_service
from app.cases.models import Case
from app.cases.schemas import CaseStatus
from app.db import ID_LENGTH, SessionDep
from app.errors import AppError
from app.pagination import PageParams
from app.schemas import CountryCode
from app.timeline.embedding import Include, case_with_records
from app.web import humanize
from app.web.casepage import CasePage, country_name
from app.web.security import BROWSER_HEADERS, PAGE_CSP
from app.web.svg import timeline_svg

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 25
EVERYTHING = ",".join(i.value for i in Include)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["edtf"] = humanize.edtf
# A source's URL is any text a client sent: only web addresses become links (never javascript: or data:).
environment.tests["web_address"] = lambda url: isinstance(url, str) and url.lower().startswith(("https://", "http://"))
templates = Jinja2Templates(env=environment)


class PageError(Exception):
    """A page that cannot be shown: rendered as an HTML error page, not a problem document."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


class PageRoute(APIRoute):
    """A page's route: an AppError raised while answering it, by a dependency as much as by the page
    (the session's 503 when the database cannot be reached, say), is told as an HTML page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        answer = super().get_route_handler()

        async def answer_as_page(request: Request) -> Response:
            try:
                return await answer(request)
            except AppError as exc:
                raise PageError(exc.status, exc.title, exc.detail, exc.headers) from exc

        return answer_as_page


router = APIRouter(include_in_schema=False, route_class=PageRoute)


async def page_viewer(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Viewer:
    """The API's viewer rules, with a refusal (a bad token, say) told as a page."""
    try:
        return await current_viewer(request, session, credentials)
    except AppError as exc:
        raise PageError(exc.status, exc.title, exc.detail, exc.headers) from None


PageViewer = Annotated[Viewer, Depends(page_viewer)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers.update(BROWSER_HEADERS)
    return response


async def page_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageError)
    response = render(request, "error.html", exc.status, title=exc.title, detail=exc.detail)
    response.headers.update(exc.headers or {})
    return response


def _optional(value: str | None) -> str | None:
    # A form sends every field, empty ones as "": an empty filter is no filter.
    return value.strip() or None if value is not None else None


@router.get("/", name="webCases")
async def cases_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewer,
    q: Annotated[str | None, Query(max_length=200)] = None,
    country: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=50)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> HTMLResponse:
    q, country, status = _optional(q), _optional(country), _optional(status)
    problems: list[str] = []
    if country is not None and country.upper() in CountryCode.__members__:
        country = country.upper()  # the API takes codes in capitals only; a person may type them in any case
    elif country is not None:
        problems.append(f"Country: {country!r} is not a two-letter country code.")
        country = None
    if status is not None and status not in CaseStatus.__members__:
        problems.append(f"Status: {status!r} is not one of {', '.join(CaseStatus)}.")
        status = None
    cases: list[Case] = []
    next_cursor = None
    try:
        cases, next_cursor = await cases_service.find_cases(
            session, q, country, [CaseStatus(status)] if status else None, PageParams(limit=PAGE_SIZE, cursor=cursor)
        )
    except AppError as exc:
        problems.append(exc.detail)
    defendants = await cases_service.defendants_of(session, [c.id for c in cases])
    countries = await cases_service.case_countries(session)
    filters = {name: value for name, value in (("q", q), ("country", country), ("status", status)) if value}
    next_url = f"{request.url.path}?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    json_url = request.app.url_path_for("listCases") + (f"?{urlencode(filters)}" if filters else "")
    return render(
        request,
        "cases.html",
        400 if problems else 200,
        cases=[
            {
                "url": request.app.url_path_for("webCase", case_id=c.id),
                "title": c.title,
                "country": country_name(c.country),
                "status": humanize.label(c.status) if c.status else None,
                "opened_on": humanize.edtf(c.opened_on, c.opened_on_earliest, c.opened_on_latest)
                if c.opened_on
                else None,
                "summary": c.summary,
                "defendants": defendants.get(c.id, []),
            }
            for c in cases
        ],
        problems=problems,
        q=q or "",
        country=country or "",
        status=status or "",
        countries=[(code, country_name(code)) for code in countries],
        statuses=[(s.value, humanize.label(s.value)) for s in CaseStatus],
        next_url=next_url,
        filtered=bool(q or country or status),
        viewer=viewer,
        json_url=json_url,
    )


@router.get("/cases/{case_id}", name="webCase")
async def case_page(request: Request, case_id: str, session: SessionDep, viewer: PageViewer) -> HTMLResponse:
    # Ids are at most ID_LENGTH characters; PostgreSQL cannot even compare text holding NUL.
    plausible = len(case_id) <= ID_LENGTH and "\x00" not in case_id
    case = await session.get(Case, case_id) if plausible else None
    if case is None:
        raise PageError(
            404,
            "Case not found",
            f"There is no case with the id {case_id!r}, or it is not public.",
        )
    body = await case_with_records(session, case, set(Include))
    api_case = request.app.url_path_for("getCase", case_id=case.id)
    return render(
        request,
        "case.html",
        page=CasePage(body),
        svg=Markup(timeline_svg(body)),  # noqa: S704  (built by ElementTree, which escapes every value)
        viewer=viewer,
        json_url=f"{api_case}?include={EVERYTHING}",
        timeline_url=request.app.url_path_for("getCaseTimeline", case_id=case.id),
        svg_url=request.app.url_path_for("getCaseTimelineSvg", case_id=case.id),
    )

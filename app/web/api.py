"""GET /api/v1/cases/{id}/timeline.svg: the case on a time axis, for reports and print."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app import http
from app.cases.dependencies import CaseDep
from app.db import SessionDep
from app.timeline.embedding import Include, case_with_records
from app.web.security import BROWSER_HEADERS, SVG_CSP
from app.web.svg import timeline_svg

router = APIRouter(tags=["timeline"])

SVG_INCLUDE = {Include.sentences, Include.hearings, Include.outcomes, Include.events, Include.timeline}


class SVGResponse(Response):
    media_type = "image/svg+xml"


SVG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An SVG image (`image/svg+xml`): sentences and detention as bars, every timeline item as a "
        "row in date order, dates known only as a range as hatched spans, decisions labelled.",
        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
    },
    **http.READ,
}


@router.get(
    "/cases/{case_id}/timeline.svg",
    name="getCaseTimelineSvg",
    response_class=SVGResponse,
    responses=SVG_RESPONSES,
    description="The case's timeline drawn on a time axis, ready to embed in a report or print: the same items "
    "as `GET /cases/{case_id}/timeline`, with the sentences (start to `ends_on`) as bars.",
)
async def get_case_timeline_svg(case: CaseDep, session: SessionDep) -> SVGResponse:
    body = await case_with_records(session, case, SVG_INCLUDE)
    headers = {"Content-Security-Policy": SVG_CSP, **BROWSER_HEADERS}
    return SVGResponse(timeline_svg(body, xml_declaration=True), headers=headers)

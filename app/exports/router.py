"""iCalendar feeds of hearings: one case's, and one across cases with the filters of GET /hearings."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Select

from app import http
from app.cases.dependencies import CaseDep
from app.cases.models import Case
from app.db import SessionDep
from app.exports.ical import hearings_calendar
from app.filters import choices
from app.hearings.filters import FiltersDep, HearingFilters
from app.hearings.models import Hearing
from app.hearings.schemas import HearingKind, HearingRead
from app.hearings.service import hearings_query
from app.timeline.service import sql_order

router = APIRouter(tags=["hearings"])


class CalendarResponse(Response):
    media_type = "text/calendar"  # Starlette adds "; charset=utf-8"


def _calendar_responses(problems: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "An iCalendar feed (RFC 5545): one all-day event per hearing, spanning every day its "
            "EDTF date allows; the UID `<hearing id>@casetrack` stays the same across fetches.",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        **problems,
    }


async def _calendar(
    request: Request, session: SessionDep, filters: HearingFilters, case_id: str | None, name: str, filename: str
) -> CalendarResponse:
    stmt: Select[Any] = hearings_query(
        case_id=case_id,
        kind=choices(filters.kind, HearingKind, "kind"),
        court_id=filters.court_id,
        judge_id=filters.judge_id,
        public=filters.public,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    stmt = (
        stmt.join(Case, Case.id == Hearing.case_id)
        .add_columns(Case.title)
        .order_by(*sql_order(Hearing))  # the timeline's order
    )
    rows = [(HearingRead.model_validate(hearing), title) for hearing, title in await session.execute(stmt)]
    body = hearings_calendar(rows, name, lambda hearing_id: str(request.url_for("getHearing", hearing_id=hearing_id)))
    return CalendarResponse(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get(
    "/cases/{case_id}/hearings.ics",
    name="getCaseHearingsCalendar",
    response_class=CalendarResponse,
    responses=_calendar_responses(http.LIST_CASE),
    description="The hearings of one case as an iCalendar feed to subscribe to; takes the filters of "
    "`GET /cases/{case_id}/hearings`.",
)
async def get_case_hearings_calendar(
    case: CaseDep, request: Request, session: SessionDep, filters: FiltersDep
) -> CalendarResponse:
    return await _calendar(
        request, session, filters, case.id, f"{case.title} — hearings", f"case-{case.id}-hearings.ics"
    )


@router.get(
    "/hearings.ics",
    name="getHearingsCalendar",
    response_class=CalendarResponse,
    responses=_calendar_responses(http.LIST),
    description="Hearings across cases as an iCalendar feed to subscribe to; takes the filters of `GET /hearings`.",
)
async def get_hearings_calendar(
    request: Request,
    session: SessionDep,
    filters: FiltersDep,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
) -> CalendarResponse:
    return await _calendar(request, session, filters, case_id, "casetrack — hearings", "hearings.ics")

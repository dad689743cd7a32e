from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app import http
from app.cases.dependencies import CaseDep
from app.dates import edtf_bounds
from app.db import SessionDep
from app.exports.timelinejs import TimelineJS, to_timelinejs
from app.filters import DateFrom, DateTo, choice_list, choices
from app.listing import CSV_TEXT_RULE, csv_lines
from app.pagination import MAX_LIMIT, link_next
from app.timeline import service
from app.timeline.schemas import ItemType, Timeline, TimelineItem

router = APIRouter(tags=["timeline"])

TimelineFormat = Literal["json", "csv", "timelinejs"]
CSV_COLUMNS = [name for name, field in TimelineItem.model_fields.items() if not field.exclude]

TIMELINE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The timeline (JSON). With `format=csv` or `Accept: text/csv`: one CSV row per item, "
        "lists as JSON arrays. With `format=timelinejs`: the same items as Knight Lab TimelineJS3 JSON "
        "(https://timeline.knightlab.com/docs/json-format.html), one event per item, each with the EDTF "
        f"date as its `display_date`. {CSV_TEXT_RULE}",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **http.READ,
    **http.problem_responses(422),  # a `format` or `order` outside its choices
}


def _chosen_format(request: Request, format: TimelineFormat | None) -> TimelineFormat:
    # The same negotiation as the lists (app.listing.wants_csv): an explicit format wins over Accept.
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    return "csv" if "text/csv" in accept and "application/json" not in accept else "json"


@router.get(
    "/cases/{case_id}/timeline",
    name="getCaseTimeline",
    # JSON is the timeline, or with `format=timelinejs` a TimelineJS document: the schema says "one or the other".
    response_model=Timeline | TimelineJS,
    responses=TIMELINE_RESPONSES,
    description="Every hearing, outcome, event, dated charge, sentence start and participant change of "
    "the case, in chronological order (below). `from`/`to` keep the items whose dates may fall in the "
    "window. Also as CSV and as TimelineJS JSON (`format`); the CSV, the TimelineJS events, "
    "`timeline.svg` and the case page list the items in this same order.\n\n" + service.ORDER_RULE,
)
async def get_case_timeline(
    case: CaseDep,
    session: SessionDep,
    request: Request,
    types: Annotated[str | None, choice_list(ItemType, "Item types.", "hearing,outcome")] = None,
    date_from: Annotated[DateFrom, Query(alias="from")] = None,
    date_to: Annotated[DateTo, Query(alias="to")] = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_LIMIT, description="Items per page; without it, the whole timeline.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=1000, description="The `next` value of the previous page.")] = None,
    format: Annotated[
        TimelineFormat | None,
        Query(
            description="`json` (the default), `csv` (the same as `Accept: text/csv`: one row per item) or "
            "`timelinejs` (Knight Lab TimelineJS3 JSON, ready to load into a TimelineJS embed)."
        ),
    ] = None,
) -> Timeline | Response:
    picked = choices(types, ItemType, "types")
    chosen = _chosen_format(request, format)
    timeline = await service.case_timeline(
        session,
        case,
        types=set(picked) if picked else None,
        # `from` and `to` are EDTFDate parameters, valid once here.
        window=(
            edtf_bounds(date_from) if date_from is not None else None,
            edtf_bounds(date_to) if date_to is not None else None,
        ),
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    vary = {"Vary": "Accept"}  # the same URL answers JSON or CSV depending on Accept
    if chosen == "csv":
        rows = [item.model_dump(mode="json") for item in timeline.items]
        return Response(
            csv_lines(CSV_COLUMNS, rows, with_header=True),
            media_type="text/csv; charset=utf-8",
            headers={**vary, "Content-Disposition": f'attachment; filename="case-{case.id}-timeline.csv"'},
        )
    if chosen == "timelinejs":
        return JSONResponse(to_timelinejs(timeline, case.title), headers=vary)
    # Serialized once, here (returned as a model, FastAPI would validate it again first).
    answer = Response(timeline.model_dump_json(), media_type="application/json", headers=vary)
    link_next(request, answer, timeline.next)
    return answer

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app import http
from app.cases.dependencies import CaseDep
from app.dates import edtf_bounds
from app.db import SessionDep
from app.errors import BadQuery
from app.filters import DateFrom, DateTo, choices
from app.timeline import service
from app.timeline.schemas import ItemType, Timeline

router = APIRouter(tags=["timeline"])


def _bounds(value: str | None, param: str):  # noqa: ANN202
    if value is None:
        return None
    try:
        return edtf_bounds(value)
    except ValueError as exc:
        raise BadQuery(f"{param}: {exc}") from None


@router.get(
    "/cases/{case_id}/timeline",
    name="getCaseTimeline",
    responses=http.READ,
    description="Every hearing, outcome, event, dated charge, sentence start and participant change of "
    "the case, in chronological order: earliest possible day first and, on the same day, the vaguer "
    "date first. `from`/`to` keep the items whose dates may fall in the window.",
)
async def get_case_timeline(
    case: CaseDep,
    session: SessionDep,
    types: Annotated[
        str | None, Query(description="Item types, comma-separated.", examples=["hearing,outcome"])
    ] = None,
    date_from: Annotated[DateFrom, Query(alias="from")] = None,
    date_to: Annotated[DateTo, Query(alias="to")] = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> Timeline:
    picked = choices(types, ItemType, "types")
    return await service.case_timeline(
        session,
        case,
        types=set(picked) if picked else None,
        window=(_bounds(date_from, "from"), _bounds(date_to, "to")),
        descending=order == "desc",
    )

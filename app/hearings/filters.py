"""The filters of the hearing lists, shared by GET /hearings and the hearings' iCalendar feeds."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from app.filters import DateFrom, DateTo, choice_list, query_filters
from app.hearings.schemas import HearingKind


@dataclass
class HearingFilters:
    kind: Annotated[str | None, choice_list(HearingKind, "Hearings of these kinds.", "parole")] = None
    court_id: Annotated[str | None, Query(max_length=32)] = None
    judge_id: Annotated[str | None, Query(max_length=32)] = None
    public: Annotated[bool | None, Query(description="false: hearings closed to the press and observers.")] = None
    date_from: DateFrom = None
    date_to: DateTo = None


FiltersDep = Annotated[HearingFilters, Depends(query_filters(HearingFilters))]

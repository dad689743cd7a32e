"""A case timeline as Knight Lab's TimelineJS3 JSON (https://timeline.knightlab.com/docs/json-format.html).

TimelineJS reads a date object (``year``, optional ``month`` and ``day``) as the first moment of its
finest given unit, and shows it at that precision. So each bound carries only the units the EDTF
string knows: ``2011`` gives ``{"year": 2011}``, summer ``2015-22`` runs from ``{2015, 6}`` to
``{2015, 8}``. A vague date (earliest day != latest day) becomes a span from its earliest to its
latest bound, and every slide's ``display_date`` is the EDTF string itself, so ``2015-12-08?`` keeps
its question mark on screen.

Headline and text are HTML to TimelineJS: they are escaped, so a title is shown, never run.
"""

import datetime as dt
import html
import re
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, Field

from app.timeline.schemas import Timeline, TimelineItem


class TimelineJSDate(BaseModel):
    year: int
    month: int | None = Field(default=None, description="Left out when the date is known only to the year.")
    day: int | None = Field(default=None, description="Left out when the date is known only to the month.")


class TimelineJSText(BaseModel):
    headline: str = Field(description="HTML: the title, escaped.")
    text: str = Field(description="HTML: the text, escaped.")


class TimelineJSSlide(BaseModel):
    start_date: TimelineJSDate
    end_date: TimelineJSDate | None = Field(default=None, description="Only for a vague date: its latest bound.")
    text: TimelineJSText
    group: str = Field(description="The item's type (hearing, outcome, event...).")
    display_date: str = Field(description="The EDTF date as written, qualifiers kept.")
    unique_id: str


class TimelineJSTitle(BaseModel):
    text: TimelineJSText


class TimelineJS(BaseModel):
    """A Knight Lab TimelineJS3 document (https://timeline.knightlab.com/docs/json-format.html)."""

    title: TimelineJSTitle
    events: list[TimelineJSSlide]


# One side of an EDTF date, qualifiers (? ~ %) removed: year, month or season, day, optional time.
_EDTF_PART = re.compile(r"(?P<year>[0-9X]{4})(?:-(?P<month>[0-9X]{2})(?:-(?P<day>[0-9X]{2}))?)?(?:T.+)?")
_QUALIFIERS = str.maketrans("", "", "?~%")


class Precision(IntEnum):
    year = 1
    month = 2  # a season too: its bounds fall on whole months
    day = 3


def _precision(part: str) -> Precision:
    match = _EDTF_PART.fullmatch(part.translate(_QUALIFIERS))
    if match is None:
        # Sets, long years and the like: their strict bounds are real days, so give them whole.
        return Precision.day
    month, day = match["month"], match["day"]
    if month is None or "X" in month:
        return Precision.year
    if day is None or "X" in day:
        return Precision.month
    return Precision.day


def edtf_precisions(edtf: str) -> tuple[Precision, Precision]:
    """How precisely the start and the end of an EDTF date are known (an interval's two ends may differ)."""
    start, _, end = edtf.partition("/")
    return _precision(start), _precision(end or start)


def _date(day: dt.date, precision: Precision) -> dict[str, int]:
    date = {"year": day.year}
    if precision >= Precision.month:
        date["month"] = day.month
    if precision >= Precision.day:
        date["day"] = day.day
    return date


def _html(text: str | None) -> str:
    return html.escape(text or "", quote=False)


def _slide(item: TimelineItem) -> dict[str, Any]:
    start_precision, end_precision = edtf_precisions(item.date)
    slide: dict[str, Any] = {"start_date": _date(item.date_earliest, start_precision)}
    if item.date_latest != item.date_earliest:
        slide["end_date"] = _date(item.date_latest, end_precision)
    slide["text"] = {"headline": _html(item.title), "text": _html(item.text)}
    slide["group"] = item.type.value
    slide["display_date"] = item.date
    # A participant's start and end share the record id; the phase tells them apart.
    slide["unique_id"] = "-".join(p for p in (item.type.value, item.id, item.phase) if p)
    return slide


def to_timelinejs(timeline: Timeline, case_title: str) -> dict[str, Any]:
    """The TimelineJS3 document of a timeline: a title slide and one event per item, in the same order."""
    count = len(timeline.items)
    summary = (
        f"{count} dated {'item' if count == 1 else 'items'} of the case. Dates are EDTF, as precise as the "
        "sources allow: ? marks an uncertain date, ~ an approximate one."
    )
    return {
        "title": {"text": {"headline": _html(case_title), "text": _html(summary)}},
        "events": [_slide(item) for item in timeline.items],
    }

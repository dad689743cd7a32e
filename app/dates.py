"""Dates that are only partly known, written in EDTF (levels 0 and 1), and their calendar bounds.

A fact's date is stored as the EDTF string the source allows (``2015-12-08?``, ``2015-22`` for
summer 2015, ``2011~``, ``2012-01-23/2019-07``) beside its earliest and latest calendar day, which
are what sorting and filtering use. The bounds are the *strict* bounds of the expression: ``2011~``
spans 2011, and the ``~`` stays in the string for the reader to weigh.
"""

import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

from edtf import parse_edtf
from edtf.parser.edtf_exceptions import EDTFParseException
from edtf.parser.parser_classes import Season
from pydantic import AfterValidator, Field
from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

EDTF_MAX_LENGTH = 64
WINTER = 24  # EDTF level 1 season code
EARLIEST_DAY = dt.date(1, 1, 1)  # where a missing date sorts: before every known one
EDTF_EXAMPLES = ["2015-12-08", "2015-12-08?", "2015-22", "2011~", "2012-01-23/2019-07"]


@dataclass(frozen=True, slots=True)
class Bounds:
    earliest: dt.date
    latest: dt.date


class UnplaceableDate(ValueError):
    pass


def _to_date(value: Any, text: str) -> dt.date:
    if isinstance(value, float) and math.isinf(value):
        raise UnplaceableDate(f"{text!r} is open-ended or has an unknown end; give both ends of the interval")
    if not isinstance(value, time.struct_time):
        raise UnplaceableDate(f"{text!r} cannot be placed on the calendar")
    try:
        return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
    except ValueError as exc:
        raise UnplaceableDate(f"{text!r} lies outside the years 1 to 9999") from exc


def edtf_bounds(text: str) -> Bounds:
    """Earliest and latest calendar day an EDTF expression allows; ValueError says why it has none."""
    if not text or text != text.strip():
        raise ValueError("an EDTF date must be non-empty with no surrounding spaces")
    try:
        parsed = parse_edtf(text)
    except EDTFParseException as exc:
        raise ValueError(f"{text!r} is not a valid EDTF date (examples: {', '.join(EDTF_EXAMPLES)})") from exc
    except Exception as exc:  # the parser raises assorted errors on odd input; none is the client's crash
        raise ValueError(f"{text!r} is not a valid EDTF date") from exc
    for end in (getattr(parsed, "lower", None), getattr(parsed, "upper", None)):
        if type(end).__name__ == "UnspecifiedIntervalSection":
            # "2015/" and "2015/.." name no end: the library would invent one ten years away.
            raise UnplaceableDate(f"{text!r} is open-ended or has an unknown end; give both ends of the interval")
    if isinstance(parsed, Season) and int(parsed.season) == WINTER:
        # Winter 2015 runs from December 2015 into February 2016; the library stops at December 31.
        year = int(parsed.year)
        if not 1 <= year < 9999:
            raise UnplaceableDate(f"{text!r} lies outside the years 1 to 9999")
        return Bounds(dt.date(year, 12, 1), dt.date(year + 1, 3, 1) - dt.timedelta(days=1))
    try:
        earliest = _to_date(parsed.lower_strict(), text)
        latest = _to_date(parsed.upper_strict(), text)
    except UnplaceableDate:
        raise
    except (OverflowError, ValueError, TypeError, AttributeError) as exc:
        raise UnplaceableDate(f"{text!r} cannot be placed on the calendar") from exc
    if latest < earliest:
        raise UnplaceableDate(f"{text!r} ends before it starts")
    return Bounds(earliest, latest)


def _validate_edtf(value: str) -> str:
    edtf_bounds(value)
    return value


EDTFDate = Annotated[
    str,
    Field(
        min_length=1,
        max_length=EDTF_MAX_LENGTH,
        description="An EDTF date (levels 0 and 1): as precise as the source allows.",
        examples=EDTF_EXAMPLES,
    ),
    AfterValidator(_validate_edtf),
]


def edtf_columns(nullable: bool) -> tuple[Mapped[Any], Mapped[Any], Mapped[Any]]:
    """The three columns behind one EDTF field: the text and its indexed calendar bounds."""
    return (
        mapped_column(String(EDTF_MAX_LENGTH), nullable=nullable),
        mapped_column(Date, nullable=nullable, index=True),
        mapped_column(Date, nullable=nullable, index=True),
    )


def set_edtf(record: Any, field: str, value: str | None) -> None:
    """Store an EDTF field and its bounds on a model that has ``field``, ``field_earliest``, ``field_latest``."""
    bounds = edtf_bounds(value) if value is not None else None
    setattr(record, field, value)
    setattr(record, f"{field}_earliest", bounds.earliest if bounds else None)
    setattr(record, f"{field}_latest", bounds.latest if bounds else None)

"""Dates that are only partly known, written in EDTF (levels 0 and 1), and their calendar bounds.

A fact's date is stored as the EDTF string the source allows (``2015-12-08?``, ``2015-22`` for
summer 2015, ``2011~``, ``2012-01-23/2019-07``) beside its earliest and latest calendar day, which
are what sorting and filtering use. The bounds are the *strict* bounds of the expression: ``2011~``
spans 2011, and the ``~`` stays in the string for the reader to weigh.
"""

import calendar
import datetime as dt
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache
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

# What the API takes, as the regular expression the OpenAPI document gives: EDTF levels 0 and 1 within
# the years 1 to 9999, real calendar days only (February 29 in leap years), seasons 21-24 (not winter
# 9999, which ends in 10000), `?` `~` `%` on a date, one or two unspecified digits at the end of a year
# (`201X`, `19XX`) or an unspecified month or day (`2015-XX`, `2015-12-XX`), and intervals of two dates
# (seasons, qualifiers; no open or unknown ends). Everything it admits the parser places on the calendar;
# only an interval that ends before it starts is left to the parser to refuse.
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_YEAR_BEFORE_9999 = "(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8]|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DAY = (
    f"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    f"|02-(?:0[1-9]|1[0-9]|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
_MONTH = f"{_YEAR}-(?:0[1-9]|1[0-2])"
_SEASON = f"(?:{_YEAR}-2[1-3]|{_YEAR_BEFORE_9999}-24)"
_UNSPECIFIED = (
    "(?:(?:[0-9]{2}[1-9]|[0-9][1-9][0-9]|[1-9][0-9]{2})X|(?:[0-9][1-9]|[1-9][0-9])XX"
    f"|{_YEAR}-(?:XX|XX-XX|(?:0[1-9]|1[0-2])-XX))"
)
_QUALIFIER = "[?~%]?"
_END = f"(?:(?:{_DAY}|{_MONTH}|{_YEAR}){_QUALIFIER}|{_SEASON})"
EDTF_PATTERN = f"^(?:{_END}/{_END}|{_END}|{_UNSPECIFIED}{_QUALIFIER})$"
_EDTF = re.compile(EDTF_PATTERN)


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


# A plain year, month or day, qualified or not: most dates, placed without the EDTF parser (which
# takes milliseconds a date). tests/test_dates.py checks it against the parser.
_PLAIN = re.compile(r"([0-9]{4})(?:-(0[1-9]|1[0-2])(?:-([0-9]{2}))?)?[?~%]?")


def _plain_bounds(text: str) -> Bounds | None:
    match = _PLAIN.fullmatch(text)
    if match is None or match[1] == "0000":
        return None
    year = int(match[1])
    if match[2] is None:
        return Bounds(dt.date(year, 1, 1), dt.date(year, 12, 31))
    month = int(match[2])
    if match[3] is None:
        return Bounds(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
    try:
        day = dt.date(year, month, int(match[3]))
    except ValueError:
        return None  # no such day: the parser says so
    return Bounds(day, day)


@lru_cache(maxsize=65536)
def edtf_bounds(text: str) -> Bounds:
    """Earliest and latest calendar day an EDTF expression allows; ValueError says why it has none.
    Cached: a date's bounds never change, and the same dates come back (validation, then the write)."""
    if not text or text != text.strip():
        raise ValueError("an EDTF date must be non-empty with no surrounding spaces")
    plain = _plain_bounds(text)
    if plain is not None:
        return plain
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
    edtf_bounds(value)  # its messages say what is wrong with most dates
    if _EDTF.fullmatch(value) is None:  # what it parses beyond EDTF_PATTERN: level 2, mostly
        raise ValueError(f"{value!r} is not an EDTF date of levels 0 and 1 (examples: {', '.join(EDTF_EXAMPLES)})")
    return value


EDTFDate = Annotated[
    str,
    Field(
        min_length=1,
        max_length=EDTF_MAX_LENGTH,
        description="An EDTF date (levels 0 and 1): as precise as the source allows.",
        examples=EDTF_EXAMPLES,
        json_schema_extra={"pattern": EDTF_PATTERN},
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

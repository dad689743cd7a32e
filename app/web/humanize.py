"""Dates, terms and kinds as a person would say them: ``2015-22`` is "summer 2015", ``2015-12-08?`` is
"December 8, 2015 (uncertain)", a 90-month term is "7 years 6 months".

An expression this module cannot phrase (EDTF level 2, unspecified digits) is shown as written, with the
calendar days it spans, so the reader never gets a date more precise than the record.
"""

import datetime as dt
import re
from fractions import Fraction

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
SEASONS = {21: "spring", 22: "summer", 23: "autumn", 24: "winter"}
_SIMPLE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?(?P<qualifier>[?~%])?$")


def day(value: dt.date) -> str:
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"


def _plain(year: int, month: int | None, day_of_month: int | None) -> str | None:
    if month is None:
        return str(year)
    if month in SEASONS:
        season = SEASONS[month]
        return f"winter {year}–{(year + 1) % 100:02d}" if season == "winter" else f"{season} {year}"
    if not 1 <= month <= 12:
        return None
    if day_of_month is None:
        return f"{MONTHS[month - 1]} {year}"
    try:
        return day(dt.date(year, month, day_of_month))
    except ValueError:
        return None


def _single(text: str) -> str | None:
    match = _SIMPLE.match(text)
    if match is None:
        return None
    month, day_of_month = match["month"], match["day"]
    phrase = _plain(int(match["year"]), int(month) if month else None, int(day_of_month) if day_of_month else None)
    if phrase is None:
        return None
    qualifier = match["qualifier"]
    if qualifier == "?":
        return f"{phrase} (uncertain)"
    if qualifier == "~":
        return f"about {phrase}"
    if qualifier == "%":
        return f"about {phrase} (uncertain)"
    return phrase


def span(earliest: dt.date, latest: dt.date) -> str:
    """A range of calendar days, as short as it can be said exactly."""
    if earliest == latest:
        return day(earliest)
    whole_years = earliest.month == 1 and earliest.day == 1 and latest.month == 12 and latest.day == 31
    if whole_years:
        return str(earliest.year) if earliest.year == latest.year else f"{earliest.year} to {latest.year}"
    month_ends = latest == dt.date.max or (latest + dt.timedelta(days=1)).day == 1
    if earliest.day == 1 and month_ends and (earliest.year, earliest.month) == (latest.year, latest.month):
        return f"{MONTHS[earliest.month - 1]} {earliest.year}"
    return f"between {day(earliest)} and {day(latest)}"


def edtf(text: str | None, earliest: dt.date | str | None = None, latest: dt.date | str | None = None) -> str:
    """An EDTF date for a person: "summer 2015", "2012 to December 2015", "December 8, 2015 (uncertain)"."""
    if not text:
        return "date unknown"
    parts = text.split("/")
    if len(parts) == 2:
        # A derived range is two plain days ("2019-07-01/2020-06-30"); a recorded one may be any two dates.
        if all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", p) for p in parts) and earliest is not None and latest is not None:
            return span(_as_date(earliest), _as_date(latest))
        start, end = _single(parts[0]), _single(parts[1])
        if start is not None and end is not None:
            return f"{start} to {end}"
    elif len(parts) == 1:
        phrase = _single(text)
        if phrase is not None:
            return phrase
    if earliest is not None and latest is not None:
        return f"{text} ({span(_as_date(earliest), _as_date(latest))})"
    return text


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def term(months: int | None) -> str:
    """90 -> "7 years 6 months"."""
    if months is None:
        return "term not recorded"
    years, rest = divmod(months, 12)
    parts = []
    if years:
        parts.append(f"{years} year" + ("s" if years != 1 else ""))
    if rest or not years:
        parts.append(f"{rest} month" + ("s" if rest != 1 else ""))
    return " ".join(parts)


def fraction(value: float) -> str:
    """0.5 -> "half", 0.6667 -> "2/3"."""
    share = Fraction(value).limit_denominator(12)
    names = {Fraction(1, 2): "half", Fraction(1, 3): "a third", Fraction(1, 4): "a quarter", Fraction(1): "all"}
    return names.get(share, f"{share.numerator}/{share.denominator}")


def label(kind: str | None) -> str:
    """``parole_denied`` -> "Parole denied"."""
    return (kind or "").replace("_", " ").capitalize()

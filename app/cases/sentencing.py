"""Dates that follow from a sentence: when the term ends and when parole may first be sought.

Month arithmetic uses dateutil (a 90-month term from 2012-03-15 ends on 2019-09-15). A fractional
month (a third of a 7-month term) adds its share of an average month, 30.4375 days, rounded.
When the start is known only as a range, each derived date is the range those bounds give.
"""

import datetime as dt
import math
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

AVERAGE_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class DerivedDate:
    value: str  # a day, or an EDTF interval "earliest/latest" when the start is vague
    earliest: dt.date
    latest: dt.date


def _add_months(start: dt.date, months: float) -> dt.date:
    whole = math.floor(months)
    return start + relativedelta(months=whole) + dt.timedelta(days=round((months - whole) * AVERAGE_MONTH_DAYS))


def after_months(earliest: dt.date | None, latest: dt.date | None, months: float | None) -> DerivedDate | None:
    if earliest is None or latest is None or months is None:
        return None
    try:
        low, high = _add_months(earliest, months), _add_months(latest, months)
    except (OverflowError, ValueError):
        return None  # beyond the year 9999: nothing useful to say
    value = low.isoformat() if low == high else f"{low.isoformat()}/{high.isoformat()}"
    return DerivedDate(value, low, high)

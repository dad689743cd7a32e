"""EDTF dates and the calendar bounds behind every sort and filter; dates derived from a sentence."""

import datetime as dt

import pytest
from edtf import parse_edtf

from app.cases.sentencing import after_months
from app.dates import _plain_bounds, edtf_bounds

D = dt.date


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        pytest.param("2015-12-08", D(2015, 12, 8), D(2015, 12, 8), id="day"),
        pytest.param("2015-12", D(2015, 12, 1), D(2015, 12, 31), id="month"),
        pytest.param("2016-02", D(2016, 2, 1), D(2016, 2, 29), id="month-leap-february"),
        pytest.param("2015-02", D(2015, 2, 1), D(2015, 2, 28), id="month-february"),
        pytest.param("2015", D(2015, 1, 1), D(2015, 12, 31), id="year"),
        pytest.param("2015-21", D(2015, 3, 1), D(2015, 5, 31), id="spring"),
        pytest.param("2015-22", D(2015, 6, 1), D(2015, 8, 31), id="summer"),
        pytest.param("2015-23", D(2015, 9, 1), D(2015, 11, 30), id="autumn"),
        pytest.param("2015-24", D(2015, 12, 1), D(2016, 2, 29), id="winter"),
        # Approximate and uncertain dates keep the strict bounds of the date they qualify.
        pytest.param("2011~", D(2011, 1, 1), D(2011, 12, 31), id="approximate-year"),
        pytest.param("2015-12-08?", D(2015, 12, 8), D(2015, 12, 8), id="uncertain-day"),
        pytest.param("2015-12-08%", D(2015, 12, 8), D(2015, 12, 8), id="uncertain-and-approximate-day"),
        pytest.param("2012-01-23/2019-07", D(2012, 1, 23), D(2019, 7, 31), id="interval-day-to-month"),
        pytest.param("2012/2015-12", D(2012, 1, 1), D(2015, 12, 31), id="interval-year-to-month"),
        pytest.param("2015-22/2015-12", D(2015, 6, 1), D(2015, 12, 31), id="interval-from-a-season"),
        pytest.param("2012~/2013?", D(2012, 1, 1), D(2013, 12, 31), id="interval-qualified-ends"),
        pytest.param("201X", D(2010, 1, 1), D(2019, 12, 31), id="unspecified-year-digit"),
        pytest.param("19XX", D(1900, 1, 1), D(1999, 12, 31), id="unspecified-two-digits"),
        pytest.param("2015-XX", D(2015, 1, 1), D(2015, 12, 31), id="unspecified-month"),
        pytest.param("2015-12-XX", D(2015, 12, 1), D(2015, 12, 31), id="unspecified-day"),
        pytest.param("0001", D(1, 1, 1), D(1, 12, 31), id="first-year"),
        pytest.param("9999-12-31", D(9999, 12, 31), D(9999, 12, 31), id="last-day"),
    ],
)
def test_bounds_of_valid_dates(text: str, earliest: dt.date, latest: dt.date) -> None:
    bounds = edtf_bounds(text)
    assert (bounds.earliest, bounds.latest) == (earliest, latest)


def test_a_season_sorts_before_the_days_inside_it() -> None:
    summer, first_of_june = edtf_bounds("2015-22"), edtf_bounds("2015-06-01")
    assert summer.earliest == first_of_june.earliest
    assert summer.latest > first_of_june.latest


def test_winter_runs_into_the_next_year() -> None:
    # Winter 2015 is December 2015 to February 2016 (a leap February), not December alone.
    assert edtf_bounds("2015-24") == edtf_bounds("2015-12/2016-02")
    bounds = edtf_bounds("2014-24")
    assert (bounds.earliest, bounds.latest) == (D(2014, 12, 1), D(2015, 2, 28))


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        pytest.param("", ["non-empty"], id="empty"),
        pytest.param(" 2015", ["spaces"], id="leading-space"),
        pytest.param("2015 ", ["spaces"], id="trailing-space"),
        pytest.param("summer 2015", ["'summer 2015'", "not a valid EDTF date", "2015-22"], id="words"),
        pytest.param("2015-13", ["'2015-13'", "not a valid EDTF date"], id="month-13"),
        pytest.param("2015-02-30", ["'2015-02-30'", "not a valid EDTF date"], id="february-30"),
        pytest.param("2015-12-32", ["'2015-12-32'", "not a valid EDTF date"], id="day-32"),
        pytest.param("08.12.2015", ["'08.12.2015'", "not a valid EDTF date"], id="european-format"),
        pytest.param("1999-2", ["'1999-2'", "not a valid EDTF date"], id="one-digit-month"),
        pytest.param("2012/2013/2014", ["not a valid EDTF date"], id="three-ends"),
        pytest.param("2019/2012", ["'2019/2012'", "ends before it starts"], id="reversed-interval"),
        pytest.param("2015-22/2015-21", ["ends before it starts"], id="reversed-seasons"),
    ],
)
def test_invalid_dates_raise_a_readable_value_error(text: str, mentions: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        edtf_bounds(text)
    message = str(caught.value)
    for mention in mentions:
        assert mention in message, f"{mention!r} not in {message!r}"


@pytest.mark.parametrize(
    "text",
    [
        "2012/..",  # open end
        "../2012",  # open start
        "2015-12-08/..",
        "../2015-12-08",
        "2012/",  # unknown end: no bound should be invented for it
        "/2012",  # unknown start
        "2015-12-08/",
        "/2015-12-08",
    ],
)
def test_open_and_unknown_interval_ends_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="open-ended or has an unknown end") as caught:
        edtf_bounds(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["0000", "-0001", "Y10000", "Y-10000", "XXXX"])
def test_years_outside_1_to_9999_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        edtf_bounds(text)


@pytest.mark.parametrize("text", ["10000", "Y17000000002", "2015-12-08T10:00"])
def test_other_unplaceable_dates_raise_value_error_naming_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        edtf_bounds(text)
    assert repr(text) in str(caught.value)


# Dates derived from a sentence.


def test_after_whole_months() -> None:
    derived = after_months(D(2012, 3, 15), D(2012, 3, 15), 90)
    assert derived is not None
    assert (derived.value, derived.earliest, derived.latest) == ("2019-09-15", D(2019, 9, 15), D(2019, 9, 15))


def test_after_half_of_a_ninety_month_term() -> None:
    derived = after_months(D(2012, 1, 23), D(2012, 1, 23), 90 * 0.5)
    assert derived is not None
    assert derived.value == "2015-10-23"


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2012, 1, 31), 1, D(2012, 2, 29)),  # clipped to the end of a leap February
        (D(2011, 1, 31), 1, D(2011, 2, 28)),
        (D(2012, 8, 31), 1, D(2012, 9, 30)),
        (D(2012, 2, 29), 12, D(2013, 2, 28)),
        (D(2012, 3, 15), 0, D(2012, 3, 15)),
    ],
)
def test_whole_months_follow_the_calendar(start: dt.date, months: int, expected: dt.date) -> None:
    derived = after_months(start, start, months)
    assert derived is not None
    assert (derived.value, derived.earliest, derived.latest) == (expected.isoformat(), expected, expected)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # A third of a 7-month term: 2 months and a third of 30.4375 days (10.15, so 10 days).
        (D(2012, 1, 1), 7 / 3, D(2012, 3, 11)),
        # Half a month: 15.22 days, so 15.
        (D(2012, 1, 1), 0.5, D(2012, 1, 16)),
        # 7.5 months from mid-March: 7 months, then 15 days.
        (D(2012, 3, 15), 7.5, D(2012, 10, 30)),
        # Nearly a whole month: 0.99 x 30.4375 = 30.13, so 30 days.
        (D(2012, 1, 1), 1.99, D(2012, 3, 2)),
    ],
)
def test_fractional_months_add_their_share_of_an_average_month(
    start: dt.date, months: float, expected: dt.date
) -> None:
    derived = after_months(start, start, months)
    assert derived is not None
    assert (derived.value, derived.earliest, derived.latest) == (expected.isoformat(), expected, expected)


def test_vague_start_gives_an_interval() -> None:
    # "2012~": the start is somewhere in 2012; half of 90 months later is a year-long range.
    start = edtf_bounds("2012~")
    derived = after_months(start.earliest, start.latest, 45)
    assert derived is not None
    assert derived.earliest == D(2015, 10, 1)
    assert derived.latest == D(2016, 9, 30)  # 2012-12-31 + 45 months, clipped to September's end
    assert derived.value == "2015-10-01/2016-09-30"
    # The interval is itself a valid EDTF date with the same bounds.
    bounds = edtf_bounds(derived.value)
    assert (bounds.earliest, bounds.latest) == (derived.earliest, derived.latest)


def test_vague_start_with_a_fractional_term() -> None:
    derived = after_months(D(2015, 6, 1), D(2015, 8, 31), 0.5)
    assert derived is not None
    assert derived.value == "2015-06-16/2015-09-15"


@pytest.mark.parametrize(
    ("earliest", "latest", "months"),
    [(None, None, 90), (D(2012, 1, 1), None, 90), (None, D(2012, 1, 1), 90), (D(2012, 1, 1), D(2012, 1, 1), None)],
)
def test_nothing_to_derive_without_a_start_or_a_term(
    earliest: dt.date | None, latest: dt.date | None, months: float | None
) -> None:
    assert after_months(earliest, latest, months) is None


def test_nothing_to_derive_beyond_the_year_9999() -> None:
    assert after_months(D(9999, 1, 1), D(9999, 1, 1), 24) is None
    assert after_months(D(9990, 1, 1), D(9999, 6, 1), 12) is None


def _parser_bounds(text: str) -> tuple[dt.date, dt.date]:
    parsed = parse_edtf(text)
    lower, upper = parsed.lower_strict(), parsed.upper_strict()
    return dt.date(*lower[:3]), dt.date(*upper[:3])


@pytest.mark.parametrize("year", [1, 99, 1000, 1900, 1999, 2000, 2015, 2016, 2024, 9999])
@pytest.mark.parametrize("qualifier", ["", "?", "~", "%"])
def test_plain_dates_are_placed_as_the_edtf_parser_places_them(year: int, qualifier: str) -> None:
    """Years, months and days skip the parser (app/dates.py:_plain_bounds): same bounds, every month, the
    last days of each month (leap years included), for each qualifier."""
    texts = [f"{year:04d}{qualifier}"]
    for month in range(1, 13):
        texts.append(f"{year:04d}-{month:02d}{qualifier}")
        texts += [f"{year:04d}-{month:02d}-{day:02d}{qualifier}" for day in (1, 28, 29, 30, 31)]
    for text in texts:
        plain = _plain_bounds(text)
        try:
            expected = _parser_bounds(text)
        except Exception:  # no such day (2015-02-30): the fast path must leave it to the parser
            assert plain is None, text
            with pytest.raises(ValueError):
                edtf_bounds(text)
            continue
        assert plain is not None, text
        assert (plain.earliest, plain.latest) == expected, text
        assert edtf_bounds(text) == plain

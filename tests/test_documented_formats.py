"""The formats the OpenAPI document gives for parameters and fields are exactly what the app takes: what
a pattern admits is accepted, what it refuses is refused (tests/test_fuzz.py checks the same over HTTP,
with fewer and more random inputs)."""

import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.cases.schemas import CaseStatus
from app.cases.service import CASE_SORTING
from app.dates import EDTF_PATTERN, _validate_edtf
from app.errors import InvalidQuery
from app.filters import choices, list_pattern
from app.schemas import ANY_TEXT, NOT_BLANK, WHITESPACE, LongText, ShortText, _stripped

EXHAUSTIVE = settings(max_examples=500, derandomize=True, database=None, deadline=None)


@EXHAUSTIVE
@given(st.from_regex(EDTF_PATTERN, fullmatch=True))
def test_every_date_the_pattern_admits_is_taken(text: str) -> None:
    try:
        _validate_edtf(text)
    except ValueError as exc:  # the one thing a regular expression cannot say
        assert "ends before it starts" in str(exc), text


@pytest.mark.parametrize("text", ["[1667,1668]", "1950S2", "2004-06-~11", "156X-12-25", "2015-XX/2015-03"])
def test_edtf_beyond_the_pattern_is_refused(text: str) -> None:
    assert re.fullmatch(EDTF_PATTERN, text) is None
    with pytest.raises(ValueError, match="not an EDTF date of levels 0 and 1|not a valid EDTF date"):
        _validate_edtf(text)


def _agrees(pattern: str, value: str, parse: object) -> None:
    try:
        parse(value)  # type: ignore[operator]
        taken = True
    except InvalidQuery:
        taken = False
    assert taken == bool(re.fullmatch(pattern, value)), value


LIST_TEXT = st.lists(st.sampled_from(["trial", "appeal", "imprisoned", "-", ",", " ", "\t", "title", "x"])).map("".join)


@EXHAUSTIVE
@given(LIST_TEXT)
def test_value_lists_take_exactly_their_pattern(value: str) -> None:
    _agrees(list_pattern(CaseStatus), value, lambda v: choices(v, CaseStatus, "status"))


@EXHAUSTIVE
@given(LIST_TEXT.map(lambda v: v.replace("trial", "title").replace("appeal", "country")))
def test_sort_takes_exactly_its_pattern(value: str) -> None:
    _agrees(CASE_SORTING.pattern, value, CASE_SORTING.keys)


CHARACTERS = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000]


def _takes(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


SHORT_TEXT, LONG_TEXT = TypeAdapter(ShortText), TypeAdapter(LongText)


def test_blank_text_is_what_the_pattern_calls_blank() -> None:
    not_blank = re.compile(NOT_BLANK)
    allowed_spaces = set(WHITESPACE) - {"\x0b", "\x0c"}  # those two are control characters, refused anywhere
    assert {c for c in CHARACTERS if not not_blank.search(c)} == set(WHITESPACE) | FORBIDDEN_CHARACTERS
    assert {c for c in CHARACTERS if not_blank.search(f"{c}x{c}")} == allowed_spaces | (
        set(CHARACTERS) - set(WHITESPACE) - FORBIDDEN_CHARACTERS
    )
    with pytest.raises(ValueError, match="blank"):
        _stripped(WHITESPACE)


FORBIDDEN_CHARACTERS = {chr(i) for i in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]}


def test_every_character_is_taken_exactly_when_the_patterns_admit_it() -> None:
    any_text = re.compile(ANY_TEXT)
    for c in CHARACTERS[:0xF800]:  # the Basic Multilingual Plane, where every forbidden character is
        assert _takes(SHORT_TEXT, f"x{c}") == bool(re.search(NOT_BLANK, f"x{c}")), repr(c)
        assert _takes(LONG_TEXT, c) == bool(any_text.search(c)), repr(c)
    assert not _takes(LONG_TEXT, "\ud800")  # a lone surrogate (no pattern can say it: JSON Schema strings are Unicode)


TEXT = st.lists(
    st.sampled_from([*" \t\n\r\x0b\x0c\x01\x1b\x00\x85\u3000\ufffe", "a", "\xe9", "e\u0301", "Я"]), max_size=8
).map("".join)


@EXHAUSTIVE
@given(TEXT)
def test_text_is_taken_exactly_when_its_pattern_admits_it(value: str) -> None:
    assert _takes(SHORT_TEXT, value) == bool(re.search(NOT_BLANK, value)), repr(value)
    assert _takes(LONG_TEXT, value) == bool(re.search(ANY_TEXT, value)), repr(value)


def test_search_words_are_the_letters_and_digits_of_the_pattern() -> None:
    # `q` is documented with `[\p{L}\p{N}]`; the search takes words as Python's `[^\W_]+`.
    word = re.compile(r"[^\W_]")
    assert all(bool(word.match(c)) == (unicodedata.category(c)[0] in "LN") for c in CHARACTERS)

"""Building blocks shared by every resource's Pydantic schemas."""

import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from app.db import ID_LENGTH


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refusing it everywhere keeps both databases alike.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


NoNul = AfterValidator(_no_nul)

# Characters no text may hold: the C0 controls but tab, newline and carriage return, and U+FFFE and U+FFFF.
# XML 1.0 has no way to write them (timeline.svg would not parse), PostgreSQL cannot store NUL, and no name
# or note needs them. The same class, in ECMA-262 syntax, goes into the patterns of the OpenAPI document.
FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN}" r"\ud800-\udfff]")  # and lone surrogates, which are no characters at all

# Unicode White_Space, spelled out: the same characters in Python, in pydantic-core and in the ECMA-262
# patterns of the OpenAPI document (whose `\s` and `\S` differ from both).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_SPACES = r"\t\n\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # WHITESPACE less the forbidden
# A text with no forbidden character: `LongText`.
ANY_TEXT = f"^[^{FORBIDDEN}]*$"
# ... and at least one character besides spaces: `ShortText`, `Url`. Spaces first, then the first other
# character, then the rest (one way to match, so no backtracking on long values).
NOT_BLANK = f"^[{_SPACES}]*[^{_SPACES}{FORBIDDEN}][^{FORBIDDEN}]*$"


def _clean(max_length: int) -> AfterValidator:
    """Refuse the forbidden characters, and store text in Unicode NFC (one spelling of each accented
    letter, which both databases then compare and search alike). NFC rarely lengthens a text (a few
    characters decompose), so the limit is checked again after it."""

    def clean(value: str) -> str:
        found = _FORBIDDEN.search(value)
        if found:
            char = found.group()
            if char == "\x00":
                raise ValueError("must not contain the NUL character")
            code = f"U+{ord(char):04X}"
            if char < " ":
                raise ValueError(
                    f"must not contain the control character {code} (of those, only tab, newline and carriage "
                    "return are taken)"
                )
            raise ValueError(f"must not contain {code}, which is not a character")
        normal = unicodedata.normalize("NFC", value)
        if len(normal) > max_length:
            raise ValueError(f"must have at most {max_length} characters in Unicode NFC (it has {len(normal)})")
        return normal

    return AfterValidator(clean)


def _nfc(value: str | None) -> str | None:
    return None if value is None else unicodedata.normalize("NFC", value)


# A query parameter compared with stored text as it is (`statute=`): in NFC, as the text was stored.
NFC = AfterValidator(_nfc)


def _stripped(value: str) -> str:
    stripped = value.strip(WHITESPACE)
    if not stripped:
        raise ValueError("must not be blank: give some text besides spaces")
    return stripped


def short_text(max_length: int) -> tuple[object, ...]:
    """The rules of a required piece of text, for ``Annotated[str, *short_text(n)]``: at most ``max_length``
    characters as sent, at least one of them not a space, none of them forbidden, stored in NFC without
    surrounding spaces. The pattern says so in the OpenAPI document."""
    return (
        StringConstraints(min_length=1, max_length=max_length),
        Field(json_schema_extra={"pattern": NOT_BLANK}),
        _clean(max_length),
        AfterValidator(_stripped),
    )


ShortText = Annotated[str, *short_text(500)]
LongText = Annotated[
    str, StringConstraints(max_length=20_000), Field(json_schema_extra={"pattern": ANY_TEXT}), _clean(20_000)
]
Url = Annotated[str, *short_text(2_000)]
RecordId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_LENGTH),
    NoNul,
    Field(description="Opaque id of another record.", examples=["5f0c6a8c2d7e4a58b0b3a1c9e2f4d6a8"]),
]
IdList = Annotated[list[RecordId], Field(max_length=200)]

# ISO 3166-1 alpha-2, as pycountry knows it: documented as the enum of codes, so clients see every one.
# (mypy reads an Enum's members only from a literal list, and these come from pycountry: hence the ignore.)
CountryCode = StrEnum("CountryCode", sorted((c.alpha_2, c.alpha_2) for c in pycountry.countries))  # type: ignore[misc]


def _known_country(value: Any) -> Any:
    # Before the enum's own check, whose message would list all the codes.
    if not isinstance(value, str) or value not in CountryCode.__members__:
        capitals = str(value).upper()
        hint = f"did you mean {capitals!r}?" if capitals in CountryCode.__members__ else "e.g. KZ, RU, BY"
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code in capitals ({hint})")
    return value


Country = Annotated[
    CountryCode,
    BeforeValidator(_known_country),
    Field(description="ISO 3166-1 alpha-2 country code, in capitals.", examples=["KZ"]),
]


class Input(BaseModel):
    """A request body: unknown fields are refused, so clients cannot set server-owned ones."""

    model_config = ConfigDict(extra="forbid")


class RecordFields(Input):
    restricted: StrictBool = Field(
        default=False,
        description="Restricted records are invisible without a reader token: for people whose safety "
        "depends on it, unverified facts, or anything not yet public.",
    )


class Output(BaseModel):
    # Every field is always present in a response, so the schema says "required" (clients can rely on it).
    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class RecordOut(Output):
    id: str
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Incremented by every change; the ETag carries it, for If-Match.")
    restricted: bool


class CitedOut(RecordOut):
    source_ids: list[str] = Field(description="Sources behind this record.")

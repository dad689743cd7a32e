import datetime as dt
from enum import StrEnum

from pydantic import MISSING, AliasChoices, Field, StrictBool

from app.dates import EDTFDate
from app.schemas import CitedOut, IdList, LongText, RecordFields, RecordId, ShortText


class HearingKind(StrEnum):
    arraignment = "arraignment"
    pretrial = "pretrial"
    trial = "trial"
    verdict = "verdict"
    sentencing = "sentencing"
    appeal = "appeal"
    parole = "parole"
    other = "other"


class OutcomeKind(StrEnum):
    convicted = "convicted"
    acquitted = "acquitted"
    sentenced = "sentenced"
    sentence_upheld = "sentence_upheld"
    sentence_reduced = "sentence_reduced"
    appeal_rejected = "appeal_rejected"
    parole_granted = "parole_granted"
    parole_denied = "parole_denied"
    released = "released"
    pardoned = "pardoned"
    charges_dropped = "charges_dropped"
    other = "other"


# Decisions that keep or put a person behind bars, and those that free them: the case page and the SVG
# colour and label them so a denial cannot be mistaken for a grant.
ADVERSE = frozenset(
    {
        OutcomeKind.convicted,
        OutcomeKind.sentenced,
        OutcomeKind.sentence_upheld,
        OutcomeKind.appeal_rejected,
        OutcomeKind.parole_denied,
    }
)
FAVOURABLE = frozenset(
    {
        OutcomeKind.acquitted,
        OutcomeKind.sentence_reduced,
        OutcomeKind.parole_granted,
        OutcomeKind.released,
        OutcomeKind.pardoned,
        OutcomeKind.charges_dropped,
    }
)


def outcome_tone(kind: str) -> str:
    """Whether an outcome of this kind goes against the person ("adverse"), for them ("favourable"), or neither."""
    return "adverse" if kind in ADVERSE else "favourable" if kind in FAVOURABLE else "neutral"


class HearingFields(RecordFields):
    location: ShortText | None = Field(default=None, examples=["Penal colony outside Almaty"])
    court_id: RecordId | None = Field(default=None, description="The court (an organization).")
    judge_id: RecordId | None = Field(default=None, description="The presiding judge (a person).")
    public: StrictBool | None = Field(
        default=None, description="false when journalists and observers were kept out; null when not known."
    )
    summary: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class HearingCreate(HearingFields):
    kind: HearingKind
    date: EDTFDate


class HearingUpdate(HearingFields):
    kind: HearingKind | MISSING = MISSING
    date: EDTFDate | MISSING = MISSING


class HearingRead(CitedOut):
    case_id: str
    kind: HearingKind
    date: str
    date_earliest: dt.date
    date_latest: dt.date
    location: str | None
    court_id: str | None = Field(validation_alias=AliasChoices("court_id_shown", "court_id"))
    judge_id: str | None = Field(validation_alias=AliasChoices("judge_id_shown", "judge_id"))
    public: bool | None
    summary: str | None


class OutcomeFields(RecordFields):
    hearing_id: RecordId | None = Field(default=None, description="The hearing that decided it, if any.")
    person_id: RecordId | None = Field(default=None, description="Whom the decision concerns.")
    summary: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class OutcomeCreate(OutcomeFields):
    kind: OutcomeKind
    date: EDTFDate


class OutcomeUpdate(OutcomeFields):
    kind: OutcomeKind | MISSING = MISSING
    date: EDTFDate | MISSING = MISSING


class OutcomeRead(CitedOut):
    case_id: str
    kind: OutcomeKind
    date: str
    date_earliest: dt.date
    date_latest: dt.date
    hearing_id: str | None = Field(validation_alias=AliasChoices("hearing_id_shown", "hearing_id"))
    person_id: str | None = Field(validation_alias=AliasChoices("person_id_shown", "person_id"))
    summary: str | None

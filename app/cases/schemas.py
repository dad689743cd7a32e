import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import MISSING, AliasChoices, Field

from app.cases.sentencing import after_months
from app.dates import EDTFDate
from app.people.schemas import PersonRead
from app.schemas import CitedOut, Country, IdList, LongText, Output, RecordFields, RecordId, ShortText, short_text


class CaseStatus(StrEnum):
    open = "open"
    pretrial = "pretrial"
    trial = "trial"
    convicted = "convicted"
    appeal = "appeal"
    imprisoned = "imprisoned"
    released = "released"
    closed = "closed"


class ParticipantRole(StrEnum):
    defendant = "defendant"
    lawyer = "lawyer"
    spouse = "spouse"
    relative = "relative"
    judge = "judge"
    prosecutor = "prosecutor"
    witness = "witness"
    victim = "victim"
    supporter = "supporter"
    other = "other"


class ChargeStatus(StrEnum):
    pending = "pending"
    convicted = "convicted"
    acquitted = "acquitted"
    dropped = "dropped"


class SentenceKind(StrEnum):
    imprisonment = "imprisonment"
    restricted_freedom = "restricted_freedom"
    fine = "fine"
    probation = "probation"
    other = "other"


# Cases


class CaseFields(RecordFields):
    country: Country | None = None
    status: CaseStatus | None = None
    summary: LongText | None = None
    opened_on: EDTFDate | None = None
    source_ids: IdList = Field(default_factory=list)


class CaseCreate(CaseFields):
    title: ShortText = Field(examples=["Prosecution of Vladimir Kozlov over the Zhanaozen unrest"])


class CaseUpdate(CaseFields):
    title: ShortText | MISSING = MISSING  # may change, never be null


class CaseRead(CitedOut):
    title: str
    country: str | None
    status: CaseStatus | None
    summary: str | None
    opened_on: str | None
    opened_on_earliest: dt.date | None
    opened_on_latest: dt.date | None


# Participants


class ParticipantFields(RecordFields):
    since: EDTFDate | None = None
    until: EDTFDate | None = None
    note: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class ParticipantCreate(ParticipantFields):
    person_id: RecordId
    role: ParticipantRole


class ParticipantUpdate(ParticipantFields):
    person_id: RecordId | MISSING = MISSING
    role: ParticipantRole | MISSING = MISSING


class ParticipantRead(CitedOut):
    case_id: str
    person_id: str
    role: ParticipantRole
    since: str | None
    since_earliest: dt.date | None
    since_latest: dt.date | None
    until: str | None
    until_earliest: dt.date | None
    until_latest: dt.date | None
    note: str | None


# Charges

Statute = Annotated[str, *short_text(300)]  # as long as its column, and the statute= filter


class ChargeFields(RecordFields):
    person_id: RecordId | None = Field(default=None, description="The accused.")
    statute: Statute | None = Field(default=None, examples=["Criminal Code art. 164"])
    date: EDTFDate | None = Field(default=None, description="When the charge was brought.")
    named_person_ids: IdList = Field(
        default_factory=list, description="Other people the charge names (e.g. the official it targets)."
    )
    source_ids: IdList = Field(default_factory=list)


class ChargeCreate(ChargeFields):
    description: ShortText = Field(examples=["Inciting social discord (the Zhanaozen unrest, 2011)"])
    status: ChargeStatus = ChargeStatus.pending


class ChargeUpdate(ChargeFields):
    description: ShortText | MISSING = MISSING
    status: ChargeStatus | MISSING = MISSING


class ChargeRead(CitedOut):
    case_id: str
    person_id: str | None = Field(validation_alias=AliasChoices("person_id_shown", "person_id"))
    statute: str | None
    description: str
    status: ChargeStatus
    date: str | None
    date_earliest: dt.date | None
    date_latest: dt.date | None
    named_person_ids: list[str]


# Sentences


class SentenceFields(RecordFields):
    term_months: int | None = Field(default=None, ge=0, le=12 * 200, examples=[90])
    start_date: EDTFDate | None = None
    facility_id: RecordId | None = Field(default=None, description="Where it is served (an organization).")
    parole_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Share of the term after which parole may be sought; the service's default when omitted.",
        examples=[0.5],
    )
    note: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class SentenceCreate(SentenceFields):
    person_id: RecordId
    kind: SentenceKind = SentenceKind.imprisonment


class SentenceUpdate(SentenceFields):
    person_id: RecordId | MISSING = MISSING
    kind: SentenceKind | MISSING = MISSING


class SentenceRead(CitedOut):
    case_id: str
    person_id: str | None = Field(validation_alias=AliasChoices("person_id_shown", "person_id"))
    kind: SentenceKind
    term_months: int | None
    start_date: str | None
    start_date_earliest: dt.date | None
    start_date_latest: dt.date | None
    facility_id: str | None = Field(validation_alias=AliasChoices("facility_id_shown", "facility_id"))
    parole_fraction: float
    note: str | None

    ends_on: str | None = Field(
        default=None, description="The day the full term has run; a range when the start is vague."
    )
    ends_on_earliest: dt.date | None = None
    ends_on_latest: dt.date | None = None
    parole_eligible_on: str | None = Field(
        default=None, description="First day parole may be sought: start + term × parole_fraction."
    )
    parole_eligible_on_earliest: dt.date | None = None
    parole_eligible_on_latest: dt.date | None = None

    def model_post_init(self, context: object) -> None:
        # Derived on every read, so a changed start, term or fraction can never leave them stale.
        for prefix, fraction in (("ends_on", 1.0), ("parole_eligible_on", self.parole_fraction)):
            months = None if self.term_months is None else self.term_months * fraction
            derived = after_months(self.start_date_earliest, self.start_date_latest, months)
            if derived is not None:
                setattr(self, prefix, derived.value)
                setattr(self, f"{prefix}_earliest", derived.earliest)
                setattr(self, f"{prefix}_latest", derived.latest)


# A person's record, with the cases they take part in (GET /people/{id}): people know nothing of cases.
class Participation(Output):
    participant_id: str
    case_id: str
    case_title: str
    role: ParticipantRole
    since: str | None
    until: str | None


class PersonDetail(PersonRead):
    participations: list[Participation] = Field(description="The cases this person appears in, and in which roles.")

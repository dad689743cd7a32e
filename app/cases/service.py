"""Rules for cases and the records that live inside one: participants, charges, sentences."""

from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import snapshot
from app.cases.models import Case, Charge, Participant, Sentence, charge_people
from app.cases.schemas import (
    CaseCreate,
    CaseStatus,
    CaseUpdate,
    ChargeCreate,
    ChargeStatus,
    ChargeUpdate,
    ParticipantCreate,
    ParticipantRole,
    ParticipantUpdate,
    Participation,
    SentenceCreate,
    SentenceKind,
    SentenceUpdate,
)
from app.config import Settings
from app.dates import EARLIEST_DAY
from app.filters import within_dates
from app.listing import Sorting
from app.organizations.models import Organization
from app.pagination import PageParams, by_rank, fetch_page
from app.people.models import Person
from app.records import apply_changes, names_visible, records_inside, replace_links, require_ids
from app.search import service as search
from app.sources.writes import finish, soft_delete

# Cases


async def create_case(session: AsyncSession, data: CaseCreate, *, record_id: str | None = None) -> Case:
    case = Case(id=record_id)
    apply_changes(case, data.model_dump(exclude={"source_ids"}))
    session.add(case)
    return await finish(session, case, None, data.source_ids)


async def update_case(session: AsyncSession, case: Case, data: CaseUpdate) -> Case:
    before = snapshot(session, case)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    apply_changes(case, changes)
    return await finish(session, case, before, source_ids)


async def delete_case(session: AsyncSession, case: Case) -> None:
    """Hides the case and, with it, everything inside it; restoring the case brings it all back.
    Each record inside gets its own delete entry, so the changes feed says what disappeared."""
    inside = await records_inside(session, case.id, live=True)
    await soft_delete(session, case)
    for record in inside:
        await audit.log(session, "delete", record, snapshot(session, record), None)


CASE_SORTING = Sorting(
    {
        "created_at": Case.created_at,
        "updated_at": Case.updated_at,
        "title": Case.title,
        "country": Case.country,
        "status": Case.status,
        "opened_on": Case.opened_on_earliest,
    },
    default="created_at",
    id_column=Case.id,
    nulls={"country": "", "status": "", "opened_on": EARLIEST_DAY},
)


def cases_query(
    country: str | None = None,
    status: list[CaseStatus] | None = None,
    person_id: str | None = None,
    role: list[ParticipantRole] | None = None,
    statute: str | None = None,
) -> Select[Case]:
    stmt = select(Case)
    if country is not None:
        stmt = stmt.where(Case.country == country)
    if status:
        stmt = stmt.where(Case.status.in_(status))
    if person_id is not None or role:
        involved = select(Participant.case_id)
        if person_id is not None:
            involved = involved.where(Participant.person_id == person_id)
        if role:
            involved = involved.where(Participant.role.in_(role))
        stmt = stmt.where(Case.id.in_(involved))
    if statute is not None:
        stmt = stmt.where(Case.id.in_(select(Charge.case_id).where(Charge.statute == statute)))
    return stmt


def case_matches(session: AsyncSession, q: str | None) -> Select[Any] | None:
    """``(record_id, rank)`` of the cases ``q`` finds, or None when there is no ``q``: by the case's own text, or
    by the name or alias of a person who takes part in it, each case once, with the better of its ranks.

    People are reached at query time through `Participant` and `Person`, ORM entities the viewer's loader
    criteria filter (app/visibility.py), never through the case's own index entry: that entry is shared by
    every viewer, so a restricted participation, a restricted person, or a case the viewer cannot see must
    not put a name there. The public finds no case by such a name, exactly as by a name nobody has.
    """
    own = search.matches(session, "case", q)
    if own is None:
        return None
    people = search.matches(session, "person", q)
    assert people is not None
    named = people.subquery("named")
    through_people = (
        select(Participant.case_id.label("record_id"), named.c.rank)
        .join(named, named.c.record_id == Participant.person_id)
        .join(Person, Person.id == Participant.person_id)
    )
    found = union_all(own, through_people).subquery("found")
    return select(found.c.record_id, func.max(found.c.rank).label("rank")).group_by(found.c.record_id)


async def find_cases(
    session: AsyncSession, q: str | None, country: str | None, status: list[CaseStatus] | None, page: PageParams
) -> tuple[list[Case], str | None]:
    """A page of cases by title, or by rank when there is a ``q`` (the home page): the cases and the next cursor."""
    stmt = cases_query(country=country, status=status)
    keys = CASE_SORTING.keys("title")
    found = case_matches(session, q)
    if found is not None:
        matches = found.subquery("matches")
        stmt = stmt.join(matches, matches.c.record_id == Case.id)
        keys = by_rank(stmt, matches.c.rank, Case.id)
    return await fetch_page(session, stmt, keys, page)


async def defendants_of(session: AsyncSession, case_ids: list[str]) -> dict[str, list[str]]:
    """The names of each case's defendants, by name (cases without any are left out)."""
    defendants: dict[str, list[str]] = {}
    if case_ids:
        rows = await session.execute(
            select(Participant.case_id, Person.name)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id.in_(case_ids), Participant.role == "defendant")
            .order_by(Person.name)
        )
        for case_id, name in rows:
            defendants.setdefault(case_id, []).append(name)
    return defendants


async def case_countries(session: AsyncSession) -> list[str]:
    """The countries some case the session may see is in, in order."""
    found = await session.scalars(
        select(Case.country).where(Case.country.is_not(None)).distinct().order_by(Case.country)
    )
    return [country for country in found.all() if country is not None]


# Participants


async def create_participant(
    session: AsyncSession, case: Case, data: ParticipantCreate, *, record_id: str | None = None
) -> Participant:
    await require_ids(session, Person, [data.person_id], "person_id", "person")
    participant = Participant(id=record_id, case_id=case.id)
    apply_changes(participant, data.model_dump(exclude={"source_ids"}))
    session.add(participant)
    return await finish(session, participant, None, data.source_ids)


async def update_participant(session: AsyncSession, participant: Participant, data: ParticipantUpdate) -> Participant:
    before = snapshot(session, participant)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    if "person_id" in changes:
        await require_ids(session, Person, [changes["person_id"]], "person_id", "person")
    apply_changes(participant, changes)
    return await finish(session, participant, before, source_ids)


PARTICIPANT_SORTING = Sorting(
    {
        "created_at": Participant.created_at,
        "updated_at": Participant.updated_at,
        "role": Participant.role,
        "since": Participant.since_earliest,
        "until": Participant.until_earliest,
    },
    default="created_at",
    id_column=Participant.id,
    nulls={"since": EARLIEST_DAY, "until": EARLIEST_DAY},
)


async def participations(session: AsyncSession, person_id: str) -> list[Participation]:
    rows = await session.execute(
        select(Participant.id, Participant.case_id, Case.title, Participant.role, Participant.since, Participant.until)
        .join(Case, Case.id == Participant.case_id)
        .where(Participant.person_id == person_id)
        .order_by(Case.title, Participant.case_id, Participant.role, Participant.id)
    )
    return [
        Participation(
            participant_id=r[0], case_id=r[1], case_title=r[2], role=ParticipantRole(r[3]), since=r[4], until=r[5]
        )
        for r in rows
    ]


def taking_part(
    stmt: Select[Person], role: list[ParticipantRole] | None = None, case_id: str | None = None
) -> Select[Person]:
    """People (``stmt``) narrowed to those who take part in some case in one of these roles, or in this case."""
    if role or case_id is not None:
        involved = select(Participant.person_id)
        if role:
            involved = involved.where(Participant.role.in_(role))
        if case_id is not None:
            involved = involved.where(Participant.case_id == case_id)
        stmt = stmt.where(Person.id.in_(involved))
    return stmt


def participants_query(
    case_id: str | None = None,
    person_id: str | None = None,
    role: list[ParticipantRole] | None = None,
) -> Select[Participant]:
    stmt = select(Participant)
    if case_id is not None:
        stmt = stmt.where(Participant.case_id == case_id)
    if person_id is not None:
        stmt = stmt.where(Participant.person_id == person_id)
    if role:
        stmt = stmt.where(Participant.role.in_(role))
    return stmt


# Charges


async def _check_charge_refs(session: AsyncSession, changes: dict[str, Any]) -> None:
    if changes.get("person_id") is not None:
        await require_ids(session, Person, [changes["person_id"]], "person_id", "person")
    if changes.get("named_person_ids"):
        await require_ids(session, Person, changes["named_person_ids"], "named_person_ids", "person")


async def create_charge(
    session: AsyncSession, case: Case, data: ChargeCreate, *, record_id: str | None = None
) -> Charge:
    fields = data.model_dump(exclude={"source_ids", "named_person_ids"})
    await _check_charge_refs(session, {**fields, "named_person_ids": data.named_person_ids})
    charge = Charge(id=record_id, case_id=case.id)
    apply_changes(charge, fields)
    session.add(charge)
    await session.flush()
    await replace_links(session, charge_people, {"charge_id": charge.id}, "person_id", data.named_person_ids)
    return await finish(session, charge, None, data.source_ids)


async def update_charge(session: AsyncSession, charge: Charge, data: ChargeUpdate) -> Charge:
    before = snapshot(session, charge)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    named = changes.pop("named_person_ids", None)
    await _check_charge_refs(session, {**changes, "named_person_ids": named})
    apply_changes(charge, changes)
    if named is not None:
        await replace_links(session, charge_people, {"charge_id": charge.id}, "person_id", named)
    return await finish(session, charge, before, source_ids)


CHARGE_SORTING = Sorting(
    {
        "created_at": Charge.created_at,
        "updated_at": Charge.updated_at,
        "status": Charge.status,
        "statute": Charge.statute,
        "date": Charge.date_earliest,
    },
    default="created_at",
    id_column=Charge.id,
    nulls={"statute": "", "date": EARLIEST_DAY},
)


def charges_query(
    case_id: str | None = None,
    person_id: str | None = None,
    status: list[ChargeStatus] | None = None,
    statute: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Select[Charge]:
    stmt = select(Charge)
    if case_id is not None:
        stmt = stmt.where(Charge.case_id == case_id)
    if person_id is not None:
        stmt = stmt.where(names_visible(Charge.person_id, Person, person_id))
    if status:
        stmt = stmt.where(Charge.status.in_(status))
    if statute is not None:
        stmt = stmt.where(Charge.statute == statute)
    return within_dates(stmt, Charge.date_earliest, Charge.date_latest, date_from, date_to)


# Sentences


async def _check_sentence_refs(session: AsyncSession, changes: dict[str, Any]) -> None:
    if changes.get("person_id") is not None:
        await require_ids(session, Person, [changes["person_id"]], "person_id", "person")
    if changes.get("facility_id") is not None:
        await require_ids(session, Organization, [changes["facility_id"]], "facility_id", "organization")


async def create_sentence(
    session: AsyncSession, case: Case, data: SentenceCreate, settings: Settings, *, record_id: str | None = None
) -> Sentence:
    fields = data.model_dump(exclude={"source_ids"})
    await _check_sentence_refs(session, fields)
    if fields["parole_fraction"] is None:
        # Stored, not implied: the record keeps saying what was assumed if the setting changes later.
        fields["parole_fraction"] = settings.default_parole_fraction
    sentence = Sentence(id=record_id, case_id=case.id)
    apply_changes(sentence, fields)
    session.add(sentence)
    return await finish(session, sentence, None, data.source_ids)


async def update_sentence(
    session: AsyncSession, sentence: Sentence, data: SentenceUpdate, settings: Settings
) -> Sentence:
    before = snapshot(session, sentence)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    await _check_sentence_refs(session, changes)
    if "parole_fraction" in changes and changes["parole_fraction"] is None:
        changes["parole_fraction"] = settings.default_parole_fraction
    apply_changes(sentence, changes)
    return await finish(session, sentence, before, source_ids)


SENTENCE_SORTING = Sorting(
    {
        "created_at": Sentence.created_at,
        "updated_at": Sentence.updated_at,
        "kind": Sentence.kind,
        "term_months": Sentence.term_months,
        "start_date": Sentence.start_date_earliest,
    },
    default="created_at",
    id_column=Sentence.id,
    nulls={"term_months": -1, "start_date": EARLIEST_DAY},
)


def sentences_query(
    case_id: str | None = None,
    person_id: str | None = None,
    kind: list[SentenceKind] | None = None,
    facility_id: str | None = None,
) -> Select[Sentence]:
    stmt = select(Sentence)
    if case_id is not None:
        stmt = stmt.where(Sentence.case_id == case_id)
    if person_id is not None:
        stmt = stmt.where(names_visible(Sentence.person_id, Person, person_id))
    if kind:
        stmt = stmt.where(Sentence.kind.in_(kind))
    if facility_id is not None:
        stmt = stmt.where(names_visible(Sentence.facility_id, Organization, facility_id))
    return stmt


async def delete_case_record(session: AsyncSession, record: Participant | Charge | Sentence) -> None:
    await soft_delete(session, record)

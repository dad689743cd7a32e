"""Rules for hearings and outcomes."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.cases.models import Case
from app.errors import Invalid
from app.filters import within_dates
from app.hearings.models import Hearing, Outcome
from app.hearings.schemas import (
    HearingCreate,
    HearingKind,
    HearingUpdate,
    OutcomeCreate,
    OutcomeKind,
    OutcomeUpdate,
)
from app.listing import Sorting
from app.organizations.models import Organization
from app.people.models import Person
from app.records import apply_changes, names_visible, refuse_if_referenced, require_ids
from app.sources.writes import finish, soft_delete


async def _check_hearing_refs(session: AsyncSession, changes: dict[str, Any]) -> None:
    if changes.get("court_id") is not None:
        await require_ids(session, Organization, [changes["court_id"]], "court_id", "organization")
    if changes.get("judge_id") is not None:
        await require_ids(session, Person, [changes["judge_id"]], "judge_id", "person")


async def create_hearing(
    session: AsyncSession, case: Case, data: HearingCreate, *, record_id: str | None = None
) -> Hearing:
    fields = data.model_dump(exclude={"source_ids"})
    await _check_hearing_refs(session, fields)
    hearing = Hearing(id=record_id, case_id=case.id)
    apply_changes(hearing, fields)
    session.add(hearing)
    return await finish(session, hearing, None, data.source_ids)


async def update_hearing(session: AsyncSession, hearing: Hearing, data: HearingUpdate) -> Hearing:
    before = snapshot(session, hearing)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    await _check_hearing_refs(session, changes)
    apply_changes(hearing, changes)
    return await finish(session, hearing, before, source_ids)


async def delete_hearing(session: AsyncSession, hearing: Hearing) -> None:
    outcomes = select(Outcome.id).where(Outcome.hearing_id == hearing.id)
    await refuse_if_referenced(session, "hearing", hearing.id, {"outcomes": outcomes})
    await soft_delete(session, hearing)


def _dated_sorting(model: type[Hearing] | type[Outcome]) -> Sorting:
    return Sorting(
        {
            "date": model.date_earliest,
            "kind": model.kind,
            "created_at": model.created_at,
            "updated_at": model.updated_at,
        },
        default="date",
        id_column=model.id,
    )


HEARING_SORTING = _dated_sorting(Hearing)
OUTCOME_SORTING = _dated_sorting(Outcome)


def hearings_query(
    case_id: str | None = None,
    kind: list[HearingKind] | None = None,
    court_id: str | None = None,
    judge_id: str | None = None,
    public: bool | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Select[Hearing]:
    stmt = select(Hearing)
    if case_id is not None:
        stmt = stmt.where(Hearing.case_id == case_id)
    if kind:
        stmt = stmt.where(Hearing.kind.in_(kind))
    if court_id is not None:
        stmt = stmt.where(names_visible(Hearing.court_id, Organization, court_id))
    if judge_id is not None:
        stmt = stmt.where(names_visible(Hearing.judge_id, Person, judge_id))
    if public is not None:
        stmt = stmt.where(Hearing.public == public)
    return within_dates(stmt, Hearing.date_earliest, Hearing.date_latest, date_from, date_to)


async def _check_outcome_refs(session: AsyncSession, case_id: str, changes: dict[str, Any]) -> None:
    if changes.get("person_id") is not None:
        await require_ids(session, Person, [changes["person_id"]], "person_id", "person")
    hearing_id = changes.get("hearing_id")
    if hearing_id is not None:
        # Locked against deletion, as require_ids locks what it finds.
        hearing_case = await session.scalar(
            select(Hearing.case_id).where(Hearing.id == hearing_id).with_for_update(read=True, of=Hearing)
        )
        if hearing_case is None:
            raise Invalid.field("hearing_id", f"no hearing with id {hearing_id!r}")
        if hearing_case != case_id:
            raise Invalid.field("hearing_id", f"the hearing {hearing_id!r} belongs to another case")


async def create_outcome(
    session: AsyncSession, case: Case, data: OutcomeCreate, *, record_id: str | None = None
) -> Outcome:
    fields = data.model_dump(exclude={"source_ids"})
    await _check_outcome_refs(session, case.id, fields)
    outcome = Outcome(id=record_id, case_id=case.id)
    apply_changes(outcome, fields)
    session.add(outcome)
    return await finish(session, outcome, None, data.source_ids)


async def update_outcome(session: AsyncSession, outcome: Outcome, data: OutcomeUpdate) -> Outcome:
    before = snapshot(session, outcome)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    await _check_outcome_refs(session, outcome.case_id, changes)
    apply_changes(outcome, changes)
    return await finish(session, outcome, before, source_ids)


async def delete_outcome(session: AsyncSession, outcome: Outcome) -> None:
    await soft_delete(session, outcome)


def outcomes_query(
    case_id: str | None = None,
    kind: list[OutcomeKind] | None = None,
    hearing_id: str | None = None,
    person_id: str | None = None,
    country: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Select[Outcome]:
    stmt = select(Outcome)
    if case_id is not None:
        stmt = stmt.where(Outcome.case_id == case_id)
    if kind:
        stmt = stmt.where(Outcome.kind.in_(kind))
    if hearing_id is not None:
        stmt = stmt.where(names_visible(Outcome.hearing_id, Hearing, hearing_id))
    if person_id is not None:
        stmt = stmt.where(names_visible(Outcome.person_id, Person, person_id))
    if country is not None:
        stmt = stmt.where(Outcome.case_id.in_(select(Case.id).where(Case.country == country)))
    return within_dates(stmt, Outcome.date_earliest, Outcome.date_latest, date_from, date_to)

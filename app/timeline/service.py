"""A case told in order: one query per kind of record (a fixed number, however long the case),
merged in memory.

Order: earliest possible day first; on the same earliest day the vaguer date (the later latest day)
first, so "summer 2015" stands before the 1st of June 2015 inside it; then a fixed order of kinds
(people join before they are charged, a hearing before its outcome), then the order in which the
records were entered, and the id.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, Charge, Participant, Sentence
from app.dates import Bounds
from app.events.models import Event
from app.hearings.models import Hearing, Outcome
from app.people.models import Person
from app.timeline.schemas import ItemType, Timeline, TimelineItem

RANK = {t: i for i, t in enumerate(ItemType)}


def _humanize(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _sort_key(item: TimelineItem) -> tuple[Any, ...]:
    phase = 1 if item.phase == "end" else 0  # a role held for one day starts before it ends
    return (item.date_earliest, -item.date_latest.toordinal(), RANK[item.type], item.recorded, item.id, phase)


def _item(
    type_: ItemType,
    record: Any,
    kind: str,
    title: str,
    person_ids: Iterable[str | None],
    *,
    text: str | None = None,
    date_field: str = "date",
    phase: str | None = None,
    organization_ids: Iterable[str] = (),
) -> TimelineItem:
    return TimelineItem(
        type=type_,
        id=record.id,
        kind=kind,
        phase=phase,
        date=getattr(record, date_field),
        date_earliest=getattr(record, f"{date_field}_earliest"),
        date_latest=getattr(record, f"{date_field}_latest"),
        title=title,
        text=text,
        person_ids=sorted({p for p in person_ids if p}),
        organization_ids=list(organization_ids),
        source_ids=record.source_ids,
        recorded=record.created_at,
    )


def _hearing(h: Hearing) -> TimelineItem:
    title = f"{_humanize(h.kind)} hearing" + (f" at {h.location}" if h.location else "")
    if h.public is False:
        title += " (closed to the public)"
    orgs = [h.court_id_shown] if h.court_id_shown else []
    return _item(ItemType.hearing, h, h.kind, title, [h.judge_id_shown], text=h.summary, organization_ids=orgs)


def _outcome(o: Outcome) -> TimelineItem:
    return _item(ItemType.outcome, o, o.kind, _humanize(o.kind), [o.person_id_shown], text=o.summary)


def _event(e: Event) -> TimelineItem:
    return _item(
        ItemType.event,
        e,
        e.kind,
        e.title,
        e.person_ids,
        text=e.quote or e.description,
        organization_ids=e.organization_ids,
    )


def _charge(c: Charge) -> TimelineItem:
    title = f"Charged: {c.description}" + (f" ({c.statute})" if c.statute else "")
    return _item(ItemType.charge, c, c.status, title, [c.person_id_shown, *c.named_person_ids])


def _sentence(s: Sentence) -> TimelineItem:
    term = f"{s.term_months} months of " if s.term_months is not None else ""
    title = f"Sentence begins: {term}{s.kind.replace('_', ' ')}"
    orgs = [s.facility_id_shown] if s.facility_id_shown else []
    return _item(
        ItemType.sentence,
        s,
        s.kind,
        title,
        [s.person_id_shown],
        text=s.note,
        date_field="start_date",
        phase="start",
        organization_ids=orgs,
    )


def _participant_changes(row: Any) -> Iterator[TimelineItem]:
    participant, name = row
    role = participant.role.replace("_", " ")
    if participant.since is not None:
        yield _item(
            ItemType.participant,
            participant,
            participant.role,
            f"{name}: {role} from here on",
            [participant.person_id],
            text=participant.note,
            date_field="since",
            phase="start",
        )
    if participant.until is not None:
        yield _item(
            ItemType.participant,
            participant,
            participant.role,
            f"{name}: no longer {role}",
            [participant.person_id],
            text=participant.note,
            date_field="until",
            phase="end",
        )


async def case_timeline(
    session: AsyncSession,
    case: Case,
    types: set[ItemType] | None = None,
    window: tuple[Bounds | None, Bounds | None] = (None, None),
    descending: bool = False,
) -> Timeline:
    wanted = types or set(ItemType)
    low, high = window

    def dated(stmt: Select[Any], model: Any, field: str = "date") -> Select[Any]:
        earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
        stmt = stmt.where(model.case_id == case.id, earliest.is_not(None))
        if low is not None:
            stmt = stmt.where(latest >= low.earliest)
        if high is not None:
            stmt = stmt.where(earliest <= high.latest)
        return stmt

    queries: list[tuple[ItemType, Select[Any], Callable[[Any], Iterable[TimelineItem]]]] = [
        (ItemType.hearing, dated(select(Hearing), Hearing), lambda r: [_hearing(r[0])]),
        (ItemType.outcome, dated(select(Outcome), Outcome), lambda r: [_outcome(r[0])]),
        (ItemType.event, dated(select(Event), Event), lambda r: [_event(r[0])]),
        (ItemType.charge, dated(select(Charge), Charge), lambda r: [_charge(r[0])]),
        (ItemType.sentence, dated(select(Sentence), Sentence, "start_date"), lambda r: [_sentence(r[0])]),
        (
            ItemType.participant,
            select(Participant, Person.name)
            .join(Person, Person.id == Participant.person_id)
            .where(Participant.case_id == case.id),
            _participant_changes,
        ),
    ]
    items: list[TimelineItem] = []
    for item_type, stmt, to_items in queries:
        if item_type in wanted:
            for row in await session.execute(stmt):
                items.extend(to_items(row))
    if low is not None or high is not None:
        items = [i for i in items if _within(i, low, high)]
    items.sort(key=_sort_key, reverse=descending)
    return Timeline(case_id=case.id, items=items)


def _within(item: TimelineItem, low: Bounds | None, high: Bounds | None) -> bool:
    # Participants are filtered here: one row holds both the start and the end of a role.
    after_low = low is None or item.date_latest >= low.earliest
    before_high = high is None or item.date_earliest <= high.latest
    return after_low and before_high

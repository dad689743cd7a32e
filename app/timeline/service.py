"""A case told in order: one query per kind of record (a fixed number, however long the case),
merged in memory.

Order: earliest possible day first; on the same earliest day the vaguer date (the later latest day)
first, so "summer 2015" stands before the 1st of June 2015 inside it; then a fixed order of kinds
(people join before they are charged, a hearing before its outcome), then the order in which the
records were entered, and the id.
"""

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, Charge, Participant, Sentence
from app.dates import Bounds
from app.errors import BadQuery
from app.events.models import Event
from app.hearings.models import Hearing, Outcome
from app.pagination import CURSOR_ERRORS, cursor_date, cursor_int, cursor_payload, cursor_text, cursor_timestamp
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
    phase: Literal["start", "end"] | None = None,
    organization_ids: Iterable[str] = (),
) -> TimelineItem:
    # Built from rows the database just gave (the right types already): no validation to pay per item.
    return TimelineItem.model_construct(
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


@dataclass(frozen=True)
class Position:
    """Where a page of the timeline ends: the sort key of its last item."""

    earliest: dt.date
    latest: dt.date
    rank: int
    recorded: dt.datetime
    id: str
    phase: int

    @classmethod
    def of(cls, item: TimelineItem) -> "Position":
        _, _, rank, recorded, record_id, phase = _sort_key(item)
        return cls(item.date_earliest, item.date_latest, rank, recorded, record_id, phase)

    def encode(self) -> str:
        raw = [
            self.earliest.isoformat(),
            self.latest.isoformat(),
            self.rank,
            self.recorded.isoformat(),
            self.id,
            self.phase,
        ]
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            e, l_, rank, recorded, record_id, phase = cursor_payload(cursor)
            return cls(
                cursor_date(e),
                cursor_date(l_),
                cursor_int(rank, 16),
                cursor_timestamp(recorded),
                cursor_text(record_id),
                cursor_int(phase, 16),
            )
        except CURSOR_ERRORS as exc:
            raise BadQuery("cursor: invalid, not a cursor of this timeline (edited, or from another one)") from exc

    def key(self) -> tuple[Any, ...]:
        return (self.earliest, -self.latest.toordinal(), self.rank, self.recorded, self.id, self.phase)

    def beyond(self, model: Any, field: str, rank: int, descending: bool) -> Any:
        """SQL for rows of one kind that sort after this position (before it, when descending)."""
        earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
        same_day = and_(earliest == self.earliest, latest == self.latest)
        if not descending:
            clauses = [earliest > self.earliest, and_(earliest == self.earliest, latest < self.latest)]
            later_rank, tie = (
                rank > self.rank,
                or_(model.created_at > self.recorded, and_(model.created_at == self.recorded, model.id > self.id)),
            )
        else:
            clauses = [earliest < self.earliest, and_(earliest == self.earliest, latest > self.latest)]
            later_rank, tie = (
                rank < self.rank,
                or_(model.created_at < self.recorded, and_(model.created_at == self.recorded, model.id < self.id)),
            )
        if later_rank:
            clauses.append(same_day)
        elif rank == self.rank:
            clauses.append(and_(same_day, tie))
        return or_(*clauses)


def _ordered(stmt: Select[Any], model: Any, field: str, descending: bool) -> Select[Any]:
    earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
    if descending:
        return stmt.order_by(earliest.desc(), latest.asc(), model.created_at.desc(), model.id.desc())
    return stmt.order_by(earliest.asc(), latest.desc(), model.created_at.asc(), model.id.asc())


async def case_timeline(
    session: AsyncSession,
    case: Case,
    types: set[ItemType] | None = None,
    window: tuple[Bounds | None, Bounds | None] = (None, None),
    descending: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Timeline:
    """The case's timeline, or one page of it (``limit``, then the ``next`` cursor): each kind's query
    continues after the cursor and stops at ``limit`` rows, so a page costs the same deep or shallow."""
    wanted = types or set(ItemType)
    low, high = window
    position = Position.decode(cursor) if cursor is not None else None

    def dated(model: Any, item_type: ItemType, field: str = "date") -> Select[Any]:
        earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
        stmt = select(model).where(model.case_id == case.id, earliest.is_not(None))
        if low is not None:
            stmt = stmt.where(latest >= low.earliest)
        if high is not None:
            stmt = stmt.where(earliest <= high.latest)
        if position is not None:
            stmt = stmt.where(position.beyond(model, field, RANK[item_type], descending))
        if limit is not None:
            stmt = _ordered(stmt, model, field, descending).limit(limit + 1)  # one more: is there a next page?
        return stmt

    queries: list[tuple[ItemType, Select[*tuple[Any, ...]], Callable[[Any], Iterable[TimelineItem]]]] = [
        (ItemType.hearing, dated(Hearing, ItemType.hearing), lambda r: [_hearing(r[0])]),
        (ItemType.outcome, dated(Outcome, ItemType.outcome), lambda r: [_outcome(r[0])]),
        (ItemType.event, dated(Event, ItemType.event), lambda r: [_event(r[0])]),
        (ItemType.charge, dated(Charge, ItemType.charge), lambda r: [_charge(r[0])]),
        (ItemType.sentence, dated(Sentence, ItemType.sentence, "start_date"), lambda r: [_sentence(r[0])]),
        (
            # A participant is two items (start and end of a role), few per case: all read, then filtered.
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
    if position is not None:
        mark = position.key()
        items = [i for i in items if (_sort_key(i) < mark if descending else _sort_key(i) > mark)]
    items.sort(key=_sort_key, reverse=descending)
    next_cursor = None
    if limit is not None and len(items) > limit:
        items = items[:limit]
        next_cursor = Position.of(items[-1]).encode()
    return Timeline(case_id=case.id, items=items, next=next_cursor)


def _within(item: TimelineItem, low: Bounds | None, high: Bounds | None) -> bool:
    # Participants are filtered here: one row holds both the start and the end of a role.
    after_low = low is None or item.date_latest >= low.earliest
    before_high = high is None or item.date_earliest <= high.latest
    return after_low and before_high

"""A case told in order: one query per kind of record (a fixed number, however long the case),
merged in memory.

The order (ORDER_RULE, which the endpoint's description shows) is decided here and only here: the JSON,
CSV and TimelineJS answers, the SVG and the HTML case page all take the items in the order this module
gives them. Its key, in full: (latest possible day, earliest possible day, kind precedence, when the
record was entered, id, start before end). A vague date is placed by the day by which it had certainly
happened (for an interval, its end), not by the first day it might have; the earliest day then puts the
wider of two dates that end together first. A role's end is placed no earlier than its start.
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

# On the same dates: the hearing first, then who joined or left at it, what was charged, what was said or
# done, what was decided, and the sentence that decision starts.
PRECEDENCE = (
    ItemType.hearing,
    ItemType.participant,
    ItemType.charge,
    ItemType.event,
    ItemType.outcome,
    ItemType.sentence,
)
RANK = {t: i for i, t in enumerate(PRECEDENCE)}
ORDER_RULE = (
    "**Order.** Each item is placed by the *latest* day its date allows, the day by which it had "
    "certainly happened: a day is itself; a month, season, year or a date with `X` digits sorts at its "
    "last day (`2015-12?` after `2015-12-08`, `2012?` after `2012-01-23`); an interval `A/B` sorts at the "
    "last day of `B` (`2012/2015-12` after `2012?`; `2015-22/2015-12`, since the summer, after `2015-22`). "
    "The qualifiers `?`, `~` and `%` neither widen nor move a date (`2015~` spans 2015). Open intervals "
    "(`2015-12/..`) are not accepted as dates, so every item has a latest day. "
    "Ties, in turn: (1) the earlier earliest possible day first (`2015` before `2015-12`: the wider date "
    "could be earlier); (2) on the same dates, by kind: `hearing`, `participant`, `charge`, `event`, "
    "`outcome`, `sentence` (a hearing before who sat at it, what was said at it and its outcome; a "
    "sentencing before the sentence it starts); (3) the order the records were entered, then the id; "
    "(4) a role's start before its end. A role's end is placed no earlier than its start (a role held "
    "from `2015` until `2015-06-01` ends after it begins). `order=desc` is the exact reverse; the "
    "`next` cursor holds this key, so pages follow the same order."
)


def _humanize(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _sort_key(item: TimelineItem) -> tuple[Any, ...]:
    latest, earliest = item.sorts_at
    phase = 1 if item.phase == "end" else 0  # a role held for one day starts before it ends
    return (latest, earliest, RANK[item.type], item.recorded, item.id, phase)


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
    not_before: tuple[dt.date, dt.date] | None = None,
) -> TimelineItem:
    # Built from rows the database just gave (the right types already): no validation to pay per item.
    earliest, latest = getattr(record, f"{date_field}_earliest"), getattr(record, f"{date_field}_latest")
    sorts_at = (latest, earliest) if not_before is None else max((latest, earliest), not_before)
    return TimelineItem.model_construct(
        type=type_,
        id=record.id,
        kind=kind,
        phase=phase,
        date=getattr(record, date_field),
        date_earliest=earliest,
        date_latest=latest,
        title=title,
        text=text,
        person_ids=sorted({p for p in person_ids if p}),
        organization_ids=list(organization_ids),
        source_ids=record.source_ids,
        recorded=record.created_at,
        sorts_at=sorts_at,
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
            # Never before its own start: "since 2015 until 2015-06-01" ends after it begins.
            not_before=(participant.since_latest, participant.since_earliest) if participant.since else None,
        )


CURSOR_VERSION = 2  # 2: latest day first (version 1, earliest day first, had no version)


@dataclass(frozen=True)
class Position:
    """Where a page of the timeline ends: the sort key of its last item."""

    latest: dt.date
    earliest: dt.date
    rank: int
    recorded: dt.datetime
    id: str
    phase: int

    @classmethod
    def of(cls, item: TimelineItem) -> "Position":
        return cls(*_sort_key(item))

    def encode(self) -> str:
        raw = [
            CURSOR_VERSION,
            self.latest.isoformat(),
            self.earliest.isoformat(),
            self.rank,
            self.recorded.isoformat(),
            self.id,
            self.phase,
        ]
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            version, l_, e, rank, recorded, record_id, phase = cursor_payload(cursor)
            if version != CURSOR_VERSION:
                raise ValueError("a cursor of another version")
            return cls(
                cursor_date(l_),
                cursor_date(e),
                cursor_int(rank, 16),
                cursor_timestamp(recorded),
                cursor_text(record_id),
                cursor_int(phase, 16),
            )
        except CURSOR_ERRORS as exc:
            raise BadQuery("cursor: invalid, not a cursor of this timeline (edited, or from another one)") from exc

    def key(self) -> tuple[Any, ...]:
        return (self.latest, self.earliest, self.rank, self.recorded, self.id, self.phase)

    def beyond(self, model: Any, field: str, rank: int, descending: bool) -> Any:
        """SQL for rows of one kind that sort after this position (before it, when descending). Rows of
        one kind are one item each, sorted by their own dates (only participants' ends move, and those
        are read whole and sorted in memory)."""
        earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
        same_dates = and_(latest == self.latest, earliest == self.earliest)
        if not descending:
            clauses = [latest > self.latest, and_(latest == self.latest, earliest > self.earliest)]
            later_rank, tie = (
                rank > self.rank,
                or_(model.created_at > self.recorded, and_(model.created_at == self.recorded, model.id > self.id)),
            )
        else:
            clauses = [latest < self.latest, and_(latest == self.latest, earliest < self.earliest)]
            later_rank, tie = (
                rank < self.rank,
                or_(model.created_at < self.recorded, and_(model.created_at == self.recorded, model.id < self.id)),
            )
        if later_rank:
            clauses.append(same_dates)
        elif rank == self.rank:
            clauses.append(and_(same_dates, tie))
        return or_(*clauses)


def sql_order(model: Any, field: str = "date", descending: bool = False) -> list[Any]:
    """ORDER BY terms that sort rows of one kind as the timeline does (the same on SQLite and PostgreSQL:
    dates, timestamps and lowercase hex ids compare alike on both)."""
    earliest, latest = getattr(model, f"{field}_earliest"), getattr(model, f"{field}_latest")
    terms = [latest, earliest, model.created_at, model.id]
    return [t.desc() for t in terms] if descending else [t.asc() for t in terms]


def _ordered(stmt: Select[Any], model: Any, field: str, descending: bool) -> Select[Any]:
    return stmt.order_by(*sql_order(model, field, descending))


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

"""`python -m bench generate`: fill a migrated database with seeded, realistic-looking data, fast.

At scale 1.0: 10,000 cases, 20,000 people, 1,000 organizations, 20,000 sources, 50,000 hearings,
10,000 outcomes, 1,000,000 events, plus participants, charges, sentences, the link tables, citations
and the search index. Records are spread over cases unevenly (a Zipf-Mandelbrot law with some noise),
so the median case has about 50 timeline items and a handful have more than 5,000. ``--scale``
multiplies every count; the same ``--seed`` gives the same records (ids included) on either database.

The bulk path is the service's own tables (``Model.__table__``) written with Core ``insert()``
executemany in large batches, one transaction per chunk of cases. It writes what the service's write
path would (EDTF bounds, version 1, not restricted, citations, one search document per person,
organization, case and event) except audit entries: like ``casetrack load``, a bulk load has no
history. EDTF bounds are computed directly for the handful of forms the generator writes (the EDTF
parser takes ~10 ms per date) and checked against ``app.dates.edtf_bounds`` on a sample first.
"""

import asyncio
import calendar
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench import vocabulary as V

FULL_SCALE = {
    "cases": 10_000,
    "people": 20_000,
    "organizations": 1_000,
    "sources": 20_000,
    "hearings": 50_000,
    "outcomes": 10_000,
    "events": 1_000_000,
}
# Shares of events that link a person, an organization, or cite a source.
EVENT_PERSON_SHARE = 0.25
EVENT_ORGANIZATION_SHARE = 0.05
EVENT_CITATION_SHARE = 0.10
# The spread of records over cases: weight(rank) = noise / (rank + q)^s, q scaled with the number of cases.
ZIPF_S, ZIPF_Q, ZIPF_NOISE = 0.85, 8.0, 0.4

BATCH = 5_000  # rows per executemany
CHUNK_EVENTS = 50_000  # events (with their hearings, outcomes, links...) per transaction
BASE_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FIRST_DAY = dt.date(1998, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 12, 31).toordinal()


def record_tables() -> tuple[str, ...]:
    """The tables of records proper, which the import rate counts (links, citations, search documents are extra)."""
    from app.resources import RESOURCES

    return tuple(resource.model.__tablename__ for resource in RESOURCES)


def scaled(scale: float) -> dict[str, int]:
    return {name: max(1, round(count * scale)) for name, count in FULL_SCALE.items()}


# --- EDTF dates with their bounds, without the parser ---------------------------------------------------

SEASONS = {21: (3, 5), 22: (6, 8), 23: (9, 11)}  # winter (24) runs December to February


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def edtf_date(rng: random.Random, first: int, span: int, precise: float = 0.7) -> tuple[str, dt.date, dt.date]:
    """An EDTF date somewhere in [first, first + span) days, with its earliest and latest calendar day.

    ``precise``: the share of plain ``YYYY-MM-DD`` dates; the rest are uncertain days, months,
    seasons, approximate years and month intervals, as sources give them.
    """
    day = dt.date.fromordinal(first + rng.randrange(max(1, span)))
    r = rng.random()
    if r < precise:
        return day.isoformat(), day, day
    r = (r - precise) / (1 - precise)
    y, m = day.year, day.month
    if r < 0.2:
        return day.isoformat() + "?", day, day
    if r < 0.6:
        return f"{y:04d}-{m:02d}", dt.date(y, m, 1), _month_end(y, m)
    if r < 0.75:
        season = rng.choice((21, 22, 23, 24))
        if season == 24:
            return f"{y:04d}-24", dt.date(y, 12, 1), _month_end(y + 1, 2)
        start, end = SEASONS[season]
        return f"{y:04d}-{season}", dt.date(y, start, 1), _month_end(y, end)
    if r < 0.9:
        return f"{y:04d}~", dt.date(y, 1, 1), dt.date(y, 12, 31)
    later = dt.date.fromordinal(day.toordinal() + rng.randrange(30, 400))
    return (
        f"{y:04d}-{m:02d}/{later.year:04d}-{later.month:02d}",
        dt.date(y, m, 1),
        _month_end(later.year, later.month),
    )


def check_edtf_bounds(rng: random.Random, samples: int = 40) -> None:
    """The shortcut must agree with the service's own EDTF parser, or the data would lie."""
    from app.dates import edtf_bounds

    for _ in range(samples):
        value, earliest, latest = edtf_date(rng, FIRST_DAY, LAST_DAY - FIRST_DAY, precise=0.0)
        bounds = edtf_bounds(value)
        if (bounds.earliest, bounds.latest) != (earliest, latest):
            raise AssertionError(f"bounds of {value!r}: generator {earliest}..{latest}, service {bounds}")


# --- the plan: who takes part in which case, and how big each case is -----------------------------------


def spread(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Integers proportional to ``weights``, each at least ``minimum``, summing to ``total`` exactly."""
    n = len(weights)
    minimum = min(minimum, total // n)
    rest = total - minimum * n
    weight_sum = sum(weights)
    raw = [w * rest / weight_sum for w in weights]
    counts = [int(x) for x in raw]
    for i in sorted(range(n), key=lambda i: raw[i] - counts[i], reverse=True)[: rest - sum(counts)]:
        counts[i] += 1
    return [minimum + c for c in counts]


def weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class Ids:
    """Record ids like the service's (32 hex digits), but from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"


@dataclass(slots=True)
class CasePlan:
    id: str
    first_day: int  # the case's period: where its dates fall
    span: int
    defendants: list[str]
    people: list[str]  # everyone taking part (for event links)
    judge: str
    court: str
    prison: str
    events: int = 0
    hearings: int = 0
    outcomes: int = 0


@dataclass
class Clock:
    """created_at values: one millisecond apart, in the order records are entered."""

    tick: int = 0

    def next(self) -> dt.datetime:
        self.tick += 1
        return BASE_TIME + dt.timedelta(milliseconds=self.tick)


def _record(record_id: str, created: dt.datetime) -> dict[str, Any]:
    return {"id": record_id, "created_at": created, "updated_at": created, "version": 1, "restricted": False}


def _cyrillic(name: str) -> str:
    out, i, lower = [], 0, name.lower()
    while i < len(lower):
        for size in (4, 2, 1):
            piece = lower[i : i + size]
            if piece in V.CYRILLIC:
                out.append(V.CYRILLIC[piece])
                i += size
                break
        else:
            out.append(lower[i])
            i += 1
    return " ".join(word.capitalize() for word in "".join(out).split(" "))


def _search(record_type: str, row: dict[str, Any]) -> dict[str, Any]:
    from app.search.service import searchable_text

    title, body = searchable_text(SimpleNamespace(record_type=record_type, **row))
    return {"record_type": record_type, "record_id": row["id"], "title": title, "body": body}


@dataclass
class Rows:
    """Rows to insert, by table name, in the order they must be inserted (parents first)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)


TABLE_ORDER = (
    "sources",
    "people",
    "organizations",
    "cases",
    "participants",
    "charges",
    "charge_people",
    "sentences",
    "hearings",
    "outcomes",
    "events",
    "event_people",
    "event_organizations",
    "citations",
    "search_documents",
)


class Generator:
    def __init__(self, scale: float, seed: int) -> None:
        self.counts = scaled(scale)
        self.seed = seed
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.clock = Clock()
        self.description_pool = [self._sentences(self.rng, 1 + i % 3) for i in range(3_000)]

    @staticmethod
    def _sentences(rng: random.Random, n: int) -> str:
        return " ".join(f"{rng.choice(V.SUBJECTS)} {rng.choice(V.VERBS)} {rng.choice(V.CLAUSES)}." for _ in range(n))

    def _name(self) -> str:
        rng = self.rng
        surname = rng.choice(V.SURNAME_STARTS) + rng.choice(V.SURNAME_MIDDLES) + rng.choice(V.SURNAME_ENDS)
        return f"{rng.choice(V.FIRST_NAMES)} {surname}"

    # The records every case refers to: sources, people, organizations.

    def standalone(self) -> tuple[Rows, dict[str, list[str]]]:
        rng, rows = self.rng, Rows()
        n = self.counts
        countries = list(V.COUNTRIES)
        sources = []
        for _ in range(n["sources"]):
            source_id = self.ids()
            published, earliest, latest = edtf_date(rng, FIRST_DAY, LAST_DAY - FIRST_DAY, precise=0.8)
            publisher = rng.choice(V.PUBLISHERS)
            rows.add(
                "sources",
                {
                    **_record(source_id, self.clock.next()),
                    "title": f"{publisher}: {rng.choice(V.HEADLINES).format(name=self._name())}",
                    "url": f"https://example.org/{publisher.lower().replace(' ', '-')}/{source_id[:12]}",
                    "publisher": publisher,
                    "published_on": published,
                    "published_on_earliest": earliest,
                    "published_on_latest": latest,
                    "note": None,
                },
            )
            sources.append(source_id)
        people = []
        for _ in range(n["people"]):
            person_id, name = self.ids(), self._name()
            born = (
                edtf_date(rng, dt.date(1940, 1, 1).toordinal(), 365 * 60, precise=0.5) if rng.random() < 0.6 else None
            )
            row = {
                **_record(person_id, self.clock.next()),
                "name": name,
                "aliases": [_cyrillic(name)] if rng.random() < 0.4 else [],
                "birth_date": born[0] if born else None,
                "birth_date_earliest": born[1] if born else None,
                "birth_date_latest": born[2] if born else None,
                "country": rng.choices(countries, weights=list(V.COUNTRIES.values()))[0],
                "description": rng.choice(self.description_pool) if rng.random() < 0.5 else None,
            }
            rows.add("people", row)
            rows.add("search_documents", _search("person", row))
            if rng.random() < 0.1:
                rows.add(
                    "citations", {"record_type": "person", "record_id": person_id, "source_id": rng.choice(sources)}
                )
            people.append(person_id)
        organizations: dict[str, list[str]] = {kind: [] for kind in V.ORGANIZATION_KINDS}
        for i in range(n["organizations"]):
            # Every kind exists even at tiny scales: the first few cycle through them.
            kind = (
                list(V.ORGANIZATION_KINDS)[i] if i < len(V.ORGANIZATION_KINDS) else weighted(rng, V.ORGANIZATION_KINDS)
            )
            row = {
                **_record(self.ids(), self.clock.next()),
                "name": rng.choice(V.ORGANIZATION_NAMES[kind]).format(city=rng.choice(V.CITIES), n=rng.randint(1, 99)),
                "kind": kind,
                "country": rng.choices(countries, weights=list(V.COUNTRIES.values()))[0],
                "description": rng.choice(self.description_pool) if rng.random() < 0.3 else None,
            }
            rows.add("organizations", row)
            rows.add("search_documents", _search("organization", row))
            organizations[kind].append(row["id"])
        return rows, {"sources": sources, "people": people, **organizations}

    # Cases and what is decided up front about each: participants, charges, sentences, sizes.

    def cases(self, pools: dict[str, list[str]]) -> tuple[Rows, list[CasePlan]]:
        rng, rows, n = self.rng, Rows(), self.counts
        people = pools["people"]
        # Judges, lawyers and prosecutors come back in many cases; defendants mostly in one.
        share = max(1, len(people) // 20)
        judges, lawyers = people[:share], people[share : 2 * share] or people
        prosecutors, others = people[2 * share : 3 * share] or people, people[3 * share :] or people
        courts, prisons = pools["court"] or pools["government"], pools["prison"] or pools["government"]
        countries = list(V.COUNTRIES)
        cases = n["cases"]
        q = max(1.0, ZIPF_Q * cases / FULL_SCALE["cases"])
        weights = [rng.lognormvariate(0, ZIPF_NOISE) / (rank + q) ** ZIPF_S for rank in range(1, cases + 1)]
        rng.shuffle(weights)
        sizes = zip(
            spread(n["events"], weights, 1),
            spread(n["hearings"], weights, 1),
            spread(n["outcomes"], weights, 0),
            strict=True,
        )
        plans = []
        for events, hearings, outcomes in sizes:
            case_id = self.ids()
            opened, opened_earliest, opened_latest = edtf_date(rng, FIRST_DAY, LAST_DAY - FIRST_DAY - 3000, 0.6)
            first_day = opened_earliest.toordinal() - rng.randrange(0, 365)
            span = min(LAST_DAY - first_day, rng.randrange(365, 365 * 9))
            defendants = [rng.choice(others) for _ in range(1 if rng.random() < 0.75 else rng.randint(2, 4))]
            plan = CasePlan(
                id=case_id,
                first_day=first_day,
                span=span,
                defendants=defendants,
                people=[],
                judge=rng.choice(judges),
                court=rng.choice(courts),
                prison=rng.choice(prisons),
                events=events,
                hearings=hearings,
                outcomes=outcomes,
            )
            case = {
                **_record(case_id, self.clock.next()),
                "title": f"Prosecution of {self._name()}" + (" and others" if len(defendants) > 1 else ""),
                "country": rng.choices(countries, weights=list(V.COUNTRIES.values()))[0],
                "status": weighted(rng, V.CASE_STATUSES),
                "summary": rng.choice(self.description_pool),
                "opened_on": opened,
                "opened_on_earliest": opened_earliest,
                "opened_on_latest": opened_latest,
            }
            rows.add("cases", case)
            rows.add("search_documents", _search("case", case))
            for source_id in rng.sample(pools["sources"], rng.randint(1, 2)):
                rows.add("citations", {"record_type": "case", "record_id": case_id, "source_id": source_id})
            roles = [(d, "defendant") for d in defendants] + [
                (rng.choice(lawyers), "lawyer"),
                (plan.judge, "judge"),
                (rng.choice(prosecutors), "prosecutor"),
            ]
            if rng.random() < 0.5:
                roles.append((rng.choice(others), "spouse"))
            roles += [
                (rng.choice(others), rng.choice(["witness", "supporter", "relative"])) for _ in range(rng.randint(0, 2))
            ]
            for person_id, role in roles:
                self._participant(rows, plan, person_id, role)
            for _ in range(rng.randint(1, 3)):
                self._charge(rows, plan, pools)
            if rng.random() < 0.7:
                self._sentence(rows, plan, pools)
            plans.append(plan)
        return rows, plans

    def _participant(self, rows: Rows, plan: CasePlan, person_id: str, role: str) -> None:
        rng = self.rng
        since = edtf_date(rng, plan.first_day, plan.span // 3) if rng.random() < 0.8 else None
        until = None
        if since is not None and rng.random() < 0.15:
            until = edtf_date(rng, since[2].toordinal() + 1, plan.span)
        rows.add(
            "participants",
            {
                **_record(self.ids(), self.clock.next()),
                "case_id": plan.id,
                "person_id": person_id,
                "role": role,
                "since": since[0] if since else None,
                "since_earliest": since[1] if since else None,
                "since_latest": since[2] if since else None,
                "until": until[0] if until else None,
                "until_earliest": until[1] if until else None,
                "until_latest": until[2] if until else None,
                "note": None,
            },
        )
        plan.people.append(person_id)

    def _charge(self, rows: Rows, plan: CasePlan, pools: dict[str, list[str]]) -> None:
        rng = self.rng
        dated = edtf_date(rng, plan.first_day, plan.span // 4) if rng.random() < 0.9 else None
        charge_id = self.ids()
        rows.add(
            "charges",
            {
                **_record(charge_id, self.clock.next()),
                "case_id": plan.id,
                "person_id": rng.choice(plan.defendants),
                "statute": rng.choice(V.STATUTES),
                "description": rng.choice(V.CHARGE_DESCRIPTIONS),
                "status": weighted(rng, V.CHARGE_STATUSES),
                "date": dated[0] if dated else None,
                "date_earliest": dated[1] if dated else None,
                "date_latest": dated[2] if dated else None,
            },
        )
        if rng.random() < 0.1:
            rows.add("charge_people", {"charge_id": charge_id, "person_id": rng.choice(pools["people"])})
        rows.add(
            "citations", {"record_type": "charge", "record_id": charge_id, "source_id": rng.choice(pools["sources"])}
        )

    def _sentence(self, rows: Rows, plan: CasePlan, pools: dict[str, list[str]]) -> None:
        rng = self.rng
        start = edtf_date(rng, plan.first_day + plan.span // 3, plan.span // 2, precise=0.5)
        sentence_id = self.ids()
        rows.add(
            "sentences",
            {
                **_record(sentence_id, self.clock.next()),
                "case_id": plan.id,
                "person_id": plan.defendants[0],
                "kind": "imprisonment"
                if rng.random() < 0.8
                else rng.choice(["restricted_freedom", "fine", "probation"]),
                "term_months": rng.choice([6, 12, 24, 36, 48, 60, 72, 90, 96, 120, 144, 180]),
                "start_date": start[0],
                "start_date_earliest": start[1],
                "start_date_latest": start[2],
                "facility_id": plan.prison,
                "parole_fraction": rng.choice([0.5, 0.5, 2 / 3, 0.75]),
                "note": None,
            },
        )
        rows.add(
            "citations",
            {"record_type": "sentence", "record_id": sentence_id, "source_id": rng.choice(pools["sources"])},
        )

    # The bulk: hearings, outcomes and events of a chunk of cases, each chunk from its own seeded generator.

    def chunks(self, plans: list[CasePlan]) -> list[tuple[int, list[CasePlan], int]]:
        """Cases grouped so each group holds about CHUNK_EVENTS events: (number, plans, first clock tick)."""
        groups, current, size = [], [], 0
        tick = self.clock.tick
        for plan in plans:
            current.append(plan)
            size += plan.events
            if size >= CHUNK_EVENTS:
                groups.append((len(groups), current, tick))
                tick += sum(p.events + p.hearings + p.outcomes for p in current)
                current, size = [], 0
        if current:
            groups.append((len(groups), current, tick))
        return groups

    def chunk_rows(self, number: int, plans: list[CasePlan], first_tick: int, pools: dict[str, list[str]]) -> Rows:
        rng = random.Random(self.seed * 1_000_003 + number)
        ids, clock, rows = Ids(rng), Clock(first_tick), Rows()
        sources, descriptions = pools["sources"], self.description_pool
        org_pool = pools["ngo"] + pools["international_body"] + pools["media"] or pools["people"]
        for plan in plans:
            hearing_dates = []
            for _ in range(plan.hearings):
                hearing_id = ids()
                date, earliest, latest = edtf_date(rng, plan.first_day, plan.span, precise=0.9)
                kind = weighted(rng, V.HEARING_KINDS)
                rows.add(
                    "hearings",
                    {
                        **_record(hearing_id, clock.next()),
                        "case_id": plan.id,
                        "kind": kind,
                        "date": date,
                        "date_earliest": earliest,
                        "date_latest": latest,
                        "location": None,
                        "court_id": plan.court,
                        "judge_id": plan.judge,
                        "public": rng.random() < 0.6,
                        "summary": rng.choice(descriptions) if rng.random() < 0.3 else None,
                    },
                )
                rows.add(
                    "citations", {"record_type": "hearing", "record_id": hearing_id, "source_id": rng.choice(sources)}
                )
                hearing_dates.append((hearing_id, date, earliest, latest))
            for _ in range(plan.outcomes):
                if hearing_dates and rng.random() < 0.8:
                    hearing_id, date, earliest, latest = rng.choice(hearing_dates)
                else:
                    hearing_id = None
                    date, earliest, latest = edtf_date(rng, plan.first_day, plan.span)
                outcome_id = ids()
                rows.add(
                    "outcomes",
                    {
                        **_record(outcome_id, clock.next()),
                        "case_id": plan.id,
                        "kind": weighted(rng, V.OUTCOME_KINDS),
                        "date": date,
                        "date_earliest": earliest,
                        "date_latest": latest,
                        "hearing_id": hearing_id,
                        "person_id": rng.choice(plan.defendants),
                        "summary": rng.choice(descriptions) if rng.random() < 0.5 else None,
                    },
                )
                rows.add(
                    "citations", {"record_type": "outcome", "record_id": outcome_id, "source_id": rng.choice(sources)}
                )
            kinds = rng.choices(list(V.EVENT_KINDS), weights=list(V.EVENT_KINDS.values()), k=plan.events)
            for kind in kinds:
                event_id = ids()
                date, earliest, latest = edtf_date(rng, plan.first_day, plan.span)
                quote = rng.choice(V.QUOTES) if kind == "statement" and rng.random() < 0.5 else None
                row = {
                    **_record(event_id, clock.next()),
                    "case_id": plan.id,
                    "kind": kind,
                    "date": date,
                    "date_earliest": earliest,
                    "date_latest": latest,
                    "title": rng.choice(V.EVENT_TITLES[kind]).format(city=rng.choice(V.CITIES)),
                    "description": rng.choice(descriptions) if rng.random() < 0.6 else None,
                    "quote": quote,
                }
                rows.add("events", row)
                rows.add("search_documents", _search("event", row))
                if rng.random() < EVENT_PERSON_SHARE:
                    rows.add("event_people", {"event_id": event_id, "person_id": rng.choice(plan.people)})
                if rng.random() < EVENT_ORGANIZATION_SHARE:
                    rows.add("event_organizations", {"event_id": event_id, "organization_id": rng.choice(org_pool)})
                if rng.random() < EVENT_CITATION_SHARE:
                    rows.add(
                        "citations", {"record_type": "event", "record_id": event_id, "source_id": rng.choice(sources)}
                    )
        return rows


# --- writing ----------------------------------------------------------------------------------------------


def _tables() -> dict[str, Table]:
    from app.models import Base

    return dict(Base.metadata.tables)


async def _insert(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]], method: str) -> None:
    if method == "copy":
        await _copy(connection, table, rows)
    elif method == "executemany":
        await _executemany(connection, table, rows)
    else:
        for start in range(0, len(rows), BATCH):
            await connection.execute(insert(table), rows[start : start + BATCH])


async def _executemany(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The driver's executemany with the values converted by the columns' own SQLAlchemy types (so they are
    stored exactly as the service stores them), without SQLAlchemy's per-row parameter bookkeeping."""
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [_converter(table, name, dialect, rows) for name in columns]
    statement = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(dialect.identifier_preparer.quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    pairs = list(zip(columns, processors, strict=True))
    if all(p is None for p in processors):
        params = [tuple(row[c] for c in columns) for row in rows]
    else:
        params = [tuple(row[c] if p is None or row[c] is None else p(row[c]) for c, p in pairs) for row in rows]
    for start in range(0, len(params), BATCH * 4):
        await connection.exec_driver_sql(statement, params[start : start + BATCH * 4])


def _sqlite_timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(table: Table, name: str, dialect: Any, rows: list[dict[str, Any]]) -> Any:
    """The column type's own bind processor, or a faster equivalent for timestamps and dates, used only
    after it gave the same text as the type's processor for this batch's first value."""
    processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    if processor is None or dialect.name != "sqlite":
        return processor
    sample = next((row[name] for row in rows if row[name] is not None), None)
    for fast in (_sqlite_timestamp, dt.date.isoformat):
        try:
            if sample is not None and fast(sample) == processor(sample):
                return fast
        except (TypeError, AttributeError, ValueError):
            continue
    return processor


async def _copy(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY through asyncpg, inside the connection's transaction (the binary protocol)."""
    import json

    from sqlalchemy import JSON

    columns = list(rows[0])
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]
    if any(as_json):
        records = [
            tuple(json.dumps(row[c]) if j else row[c] for c, j in zip(columns, as_json, strict=True)) for row in rows
        ]
    else:
        records = [tuple(row[c] for c in columns) for row in rows]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=columns)


async def write(
    engine: AsyncEngine, rows: Rows, tables: dict[str, Table], counts: dict[str, int], method: str = "insert"
) -> None:
    """One transaction: every table of ``rows``, parents first."""
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 1"))  # the driver's transaction is open before COPY runs in it
        for name in TABLE_ORDER:
            batch = rows.tables.get(name)
            if batch:
                await _insert(connection, tables[name], batch, method)
                counts[name] = counts.get(name, 0) + len(batch)


# Secondary indexes and foreign keys are set aside for the load and restored at the end from their own
# definitions, read back from the database, as pg_restore does: building an index over a million rows
# sorts once instead of updating a tree per row, and checking a foreign key is one join instead of one
# lookup per row. Primary keys stay. SQLite cannot drop a foreign key, so the load's connections do not
# enforce them and ``PRAGMA foreign_key_check`` checks every row at the end; its full-text index is
# rebuilt from search_documents in one pass instead of by the insert trigger.


async def defer_indexes(connection: AsyncConnection, names: Sequence[str]) -> list[str]:
    """Drop the secondary indexes (and foreign keys) of these tables; return the statements that restore them."""
    if connection.dialect.name == "postgresql":
        indexes = (
            await connection.execute(
                text(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                    "AND i.tablename = ANY(:names) AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname"
                ),
                {"names": list(names)},
            )
        ).all()
        foreign_keys = (
            await connection.execute(
                text(
                    "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                    "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace "
                    "AND c.conrelid::regclass::text = ANY(:names) ORDER BY 1, 2"
                ),
                {"names": list(names)},
            )
        ).all()
        for table, name, _ in foreign_keys:
            await connection.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            await connection.execute(text(f'DROP INDEX "{name}"'))
        return [definition for _, definition in indexes] + [
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}' for table, name, definition in foreign_keys
        ]
    placeholders = ", ".join(f"'{n}'" for n in names)
    indexes = (
        await connection.execute(
            text(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({placeholders}) ORDER BY name"
            )
        )
    ).all()
    triggers = (
        await connection.execute(text("SELECT name, sql FROM sqlite_master WHERE name = 'search_fts_insert'"))
    ).all()
    for name, _ in indexes:
        await connection.execute(text(f'DROP INDEX "{name}"'))
    for name, _ in triggers:
        await connection.execute(text(f'DROP TRIGGER "{name}"'))
    rebuild = ["INSERT INTO search_fts(search_fts) VALUES ('rebuild')"] if triggers else []
    return [sql for _, sql in indexes] + rebuild + [sql for _, sql in triggers]


async def schema_fingerprint(connection: AsyncConnection) -> list[tuple[str, ...]]:
    """Every index, constraint and trigger with its definition: the same before and after a load."""
    if connection.dialect.name == "postgresql":
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() UNION ALL "
            "SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = current_schema()::regnamespace ORDER BY 1"
        )
    else:
        query = "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY 1"
    return [tuple(row) for row in (await connection.execute(text(query))).all()]


async def check_foreign_keys(connection: AsyncConnection) -> None:
    if connection.dialect.name == "sqlite":
        problems = (await connection.execute(text("PRAGMA foreign_key_check"))).all()
        if problems:
            raise AssertionError(f"rows with broken references: {problems[:5]}")


async def rebuild_indexes(engine: AsyncEngine, statements: list[str]) -> None:
    """Run the restoring statements; on PostgreSQL the full-text index (the slowest, and on a table no
    foreign key touches) builds on a second connection, beside the rest."""

    async def run(group: list[str]) -> None:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            for statement in group:
                await connection.execute(text(statement))

    if engine.dialect.name != "postgresql":
        await run(statements)
        return
    search = [s for s in statements if "search_documents" in s]
    await asyncio.gather(run(search), run([s for s in statements if s not in search]))


async def _is_empty(engine: AsyncEngine) -> bool:
    from app.cases.models import Case
    from app.people.models import Person

    async with engine.connect() as connection:
        for model in (Case, Person):
            if await connection.scalar(select(func.count()).select_from(model.__table__)):
                return False
    return True


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def prepare_database(database_url: str, reset: bool) -> None:
    """Make sure the database exists; with ``reset``, empty it completely first (SQLite: delete the
    file; PostgreSQL: drop and create the database, connected to the server's ``postgres`` database)."""
    import os

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = f"{url.database}{suffix}"
            if reset and url.database and os.path.exists(path):
                os.remove(path)
        return

    async def recreate() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        from app.config import async_database_url

        name = url.database
        server = url.set(database="postgres").render_as_string(hide_password=False)
        admin = create_async_engine(async_database_url(server), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                if reset:
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                exists = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if not exists:
                    await connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await admin.dispose()

    asyncio.run(recreate())


def timeline_sizes(plans: list[CasePlan], rows: Rows) -> list[int]:
    """Timeline items per case, as the service counts them (dated records, a role's start and end)."""
    items = {plan.id: plan.events + plan.hearings + plan.outcomes for plan in plans}
    for name, date_field in (
        ("participants", "since"),
        ("participants", "until"),
        ("charges", "date"),
        ("sentences", "start_date"),
    ):
        for row in rows.tables.get(name, []):
            if row[date_field] is not None:
                items[row["case_id"]] += 1
    return list(items.values())


def _own_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


async def _backend_cpu(engine: AsyncEngine) -> float | None:
    """CPU seconds of the PostgreSQL backends serving this load (same machine only; None otherwise).

    On a shared machine the wall-clock rate depends on the neighbours; CPU time says what the load costs."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as connection:
        pids = (
            await connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend'"
                )
            )
        ).scalars()
        seconds = [_process_cpu(pid) for pid in pids]
    return None if None in seconds else sum(seconds)  # type: ignore[arg-type]


def _process_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bulk_engine(database_url: str, defer: bool) -> AsyncEngine:
    """The service's engine, with a large page cache on SQLite (the default 2 MB thrashes on random keys)."""
    from sqlalchemy import event

    from app.config import Settings
    from app.db import make_engine

    engine = make_engine(Settings(database_url=database_url))
    if engine.dialect.name == "sqlite":

        def big_cache(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA cache_size = -1000000")  # KiB: up to 1 GB
            cursor.execute("PRAGMA temp_store = MEMORY")
            if defer:
                cursor.execute("PRAGMA foreign_keys = OFF")  # checked in one pass at the end (check_foreign_keys)
            cursor.close()

        event.listen(engine.sync_engine, "connect", big_cache)
    return engine


async def generate(
    database_url: str, scale: float, seed: int, method: str = "auto", defer: bool = True, out: Any = sys.stdout
) -> dict[str, Any]:
    def say(message: str) -> None:
        print(message, file=out, flush=True)

    engine = _bulk_engine(database_url, defer)
    tables = _tables()
    counts: dict[str, int] = {}
    if method == "auto":
        method = "copy" if engine.dialect.name == "postgresql" else "executemany"
    if method == "copy" and engine.dialect.name != "postgresql":
        raise SystemExit("bench generate: --method copy is for PostgreSQL")
    # PostgreSQL takes several writers (one backend, so one core, each); SQLite has one writer at a time.
    # Without the deferred foreign keys, chunks need no order between them either way.
    writers = 2 if engine.dialect.name == "postgresql" and defer else 1
    phases: dict[str, float] = {}
    try:
        if not await _is_empty(engine):
            raise SystemExit(
                "bench generate: the database already holds cases or people; pass --reset to empty it first"
            )
        generator = Generator(scale, seed)
        check_edtf_bounds(random.Random(seed))
        started, cpu_started = time.perf_counter(), _own_cpu()
        async with engine.begin() as connection:
            before = await schema_fingerprint(connection)
            rebuild = await defer_indexes(connection, TABLE_ORDER) if defer else []
        standalone, pools = generator.standalone()
        await write(engine, standalone, tables, counts, method)
        case_rows, plans = generator.cases(pools)
        await write(engine, case_rows, tables, counts, method)
        sizes = timeline_sizes(plans, case_rows)
        say(
            f"  {len(plans):,} cases planned: timeline items per case median {statistics.median(sizes):.0f}, "
            f"max {max(sizes):,}, {sum(s > 5000 for s in sizes)} cases over 5,000"
        )
        # Chunks are built in a worker thread while earlier ones are written: the database (or
        # aiosqlite's thread) works while Python builds rows.
        loop = asyncio.get_running_loop()
        chunks = generator.chunks(plans)
        queue: asyncio.Queue[Rows | None] = asyncio.Queue(maxsize=writers)

        def build(i: int) -> Rows:
            number, group, tick = chunks[i]
            return generator.chunk_rows(number, group, tick, pools)

        async def produce() -> None:
            for i in range(len(chunks)):
                await queue.put(await loop.run_in_executor(None, build, i))
            for _ in range(writers):
                await queue.put(None)

        written = 0

        async def consume() -> None:
            nonlocal written
            while (rows := await queue.get()) is not None:
                await write(engine, rows, tables, counts, method)
                written += 1
                rate = sum(counts.get(t, 0) for t in record_tables()) / (time.perf_counter() - started)
                say(
                    f"  chunk {written}/{len(chunks)}: {counts.get('events', 0):,} events, {rate:,.0f} records/s so far"
                )

        await asyncio.gather(produce(), *(consume() for _ in range(writers)))
        phases["rows"] = time.perf_counter() - started
        if rebuild:
            say(f"  building {len(rebuild)} deferred indexes / full-text structures")
            await rebuild_indexes(engine, rebuild)
        phases["indexes"] = time.perf_counter() - started - phases["rows"]
        async with engine.begin() as connection:
            await check_foreign_keys(connection)
            after = await schema_fingerprint(connection)
        if after != before:
            raise AssertionError(f"the indexes after the load differ from the migrations': {set(before) ^ set(after)}")
        elapsed = time.perf_counter() - started
        cpu = {"generator": _own_cpu() - cpu_started, "database": await _backend_cpu(engine)}
        analyze_started = time.perf_counter()
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        analyze = time.perf_counter() - analyze_started
    finally:
        await engine.dispose()
    records = sum(counts.get(t, 0) for t in record_tables())
    rows_total = sum(counts.values())
    return {
        "backend": engine.dialect.name,
        "method": method + (" + deferred indexes and foreign keys" if defer else ""),
        "counts": counts,
        "records": records,
        "rows": rows_total,
        "seconds": elapsed,
        "phases": phases,
        "cpu_seconds": cpu,
        "records_per_second": records / elapsed,
        "rows_per_second": rows_total / elapsed,
        "analyze_seconds": analyze,
        "timeline_median": statistics.median(sizes),
        "timeline_max": max(sizes),
        "cases_over_5000": sum(s > 5000 for s in sizes),
    }


def main(
    database_url: str,
    scale: float,
    seed: int,
    reset: bool,
    method: str = "auto",
    defer: bool = True,
    report: str | None = None,
) -> int:
    from app.migrate import upgrade

    if not math.isfinite(scale) or scale <= 0:
        raise SystemExit("bench generate: --scale must be a positive number")
    prepare_database(database_url, reset)
    upgrade(database_url)  # the schema always comes from the migrations
    backend = make_url(database_url).get_backend_name()
    print(f"bench generate: {backend}, scale {scale}, seed {seed}", flush=True)
    result = asyncio.run(generate(database_url, scale, seed, method, defer))
    width = max(len(name) for name in result["counts"])
    for name in TABLE_ORDER:
        if name in result["counts"]:
            print(f"  {name:<{width}}  {result['counts'][name]:>10,}")
    phases = result["phases"]
    if report:
        import json
        from pathlib import Path

        Path(report).write_text(json.dumps({**result, "scale": scale, "seed": seed}, indent=2, default=str))
    cpu = result["cpu_seconds"]
    database_cpu = "" if cpu["database"] is None else f", PostgreSQL backends {cpu['database']:.1f} s"
    print(
        f"bench generate: {result['records']:,} records ({result['rows']:,} rows with links, citations and "
        f"search documents) in {result['seconds']:.1f} s ({phases['rows']:.1f} s rows, {phases['indexes']:.1f} s "
        f"indexes; {result['method']}): {result['records_per_second']:,.0f} records/s, "
        f"{result['rows_per_second']:,.0f} rows/s; then ANALYZE {result['analyze_seconds']:.1f} s. CPU time: "
        f"generator {cpu['generator']:.1f} s{database_cpu}; load average {_loadavg()}"
    )
    return 0

"""The bare baseline: a minimal Starlette app answering the benchmark's questions with hand-written SQL.

asyncpg (a pool) on PostgreSQL; the standard ``sqlite3`` module on SQLite, called directly on the event
loop (a query of a millisecond is cheaper run than handed to a thread). No ORM, no Pydantic, no
dependency injection, no middleware: the ceiling for Python on this stack, to which the service's
requests/s are compared. It answers the same questions as the service, for the same viewer, with the
same JSON (``python -m bench run`` compares a sample of answers before measuring):

    GET   /api/v1/cases/{id}[?include=...]        the case, and with include everything in it
    GET   /api/v1/cases/{id}/timeline[?limit=&cursor=]
    GET   /api/v1/events[?limit=&cursor=&format=csv]   (sorted by date, keyset paging)
    GET   /api/v1/outcomes?kind=..&country=..
    GET   /api/v1/people?q=..                     (full-text search, best match first)
    POST  /api/v1/cases/{id}/events               (editor token; citations, search index, audit entry)
    PATCH /api/v1/events/{id}                     (editor token, If-Match; search index, audit entry)

Reads are anonymous (public, live records only). Visibility is checked once per request where the
service's ORM filter repeats it in every statement (the case's own visibility, then its records).
The database comes from BENCH_DATABASE_URL (or DATABASE_URL), a plain sqlite:/// or postgresql:// URL.
"""

import base64
import binascii
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# Domain arithmetic the answer needs (a sentence's end and parole dates), not part of the stack measured.
from app.cases.sentencing import after_months

AUDIT_LOCK = 7_406_511  # app/audit/service.py PG_AUDIT_LOCK: writers queue on it so entries keep commit order
MAX_LIMIT, DEFAULT_LIMIT = 500, 50
EVENT_KINDS = {
    "arrest", "detention_change", "transfer", "visit", "statement", "reaction", "protest", "incident", "filing",
    "other",
}  # fmt: skip
INCLUDES = ("participants", "charges", "sentences", "hearings", "outcomes", "events", "sources", "timeline")
ITEM_RANK = {"participant": 0, "charge": 1, "event": 2, "hearing": 3, "outcome": 4, "sentence": 5}
ISO_DAY = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?([?~%]?)$")


# --- the two databases behind one small interface -----------------------------------------------------


class Database:
    dialect: str
    agg: str  # the string aggregate: string_agg (PostgreSQL) or group_concat (SQLite)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    def day(self, value: dt.date) -> Any:
        """A date as a query parameter."""
        return value

    def now(self) -> Any:
        return dt.datetime.now(dt.UTC)


class Postgres(Database):
    dialect, agg = "postgresql", "string_agg"

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        # SQLAlchemy's default pool holds at most 5 + 10 connections: the same here.
        self.pool = await asyncpg.create_pool(self.url, min_size=5, max_size=15)

    async def stop(self) -> None:
        await self.pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return await self.pool.fetch(sql, *args)

    def connection(self) -> Any:
        return self.pool.acquire()


class SQLite(Database):
    """One connection, used synchronously: SQLite has no network round trip to overlap."""

    dialect, agg = "sqlite", "group_concat"
    PLACEHOLDER = re.compile(r"\$(\d+)")

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    def open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # The service's connection settings (app/db.py), no more.
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    async def start(self) -> None:
        self.conn = self.open()

    async def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def sql(self, statement: str) -> str:
        return self.PLACEHOLDER.sub(r"?\1", statement)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        assert self.conn is not None
        return self.conn.execute(self.sql(sql), args).fetchall()

    def day(self, value: dt.date) -> Any:
        return value.isoformat()

    def now(self) -> Any:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def database_from_url(url: str) -> Database:
    if url.startswith("sqlite:///"):
        return SQLite(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return Postgres(url)
    raise SystemExit(f"baseline: unsupported database URL {url!r}")


# --- values as the service renders them ---------------------------------------------------------------


def ts(value: Any) -> str | None:
    """A timestamp as Pydantic writes it: ISO 8601 in UTC with Z, microseconds only when there are some."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
        text = value[:10] + "T" + value[11:]
        return (text[:-7] if text.endswith(".000000") else text) + "Z"
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def day(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def ids(joined: str | None) -> list[str]:
    return sorted(joined.split(",")) if joined else []


def flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def aliases(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": f"urn:casetrack:problem:{title.lower().replace(' ', '-')}", "title": title, "status": status}
    body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def edtf_bounds(text: str) -> tuple[dt.date, dt.date]:
    """Calendar bounds of an EDTF date: plain ISO forms directly, anything else through the EDTF library."""
    match = ISO_DAY.match(text)
    if match:
        year, month, day_ = (int(g) if g else None for g in match.groups()[:3])
        try:
            if day_ is not None:
                one = dt.date(year, month, day_)  # type: ignore[arg-type]
                return one, one
            if month is not None:
                if not 1 <= month <= 12:
                    raise ValueError
                first = dt.date(year, month, 1)  # type: ignore[arg-type]
                return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            return dt.date(year, 1, 1), dt.date(year, 12, 31)  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(f"{text!r} is not a valid EDTF date") from None
    from app.dates import edtf_bounds as parse  # the rare vague dates: the service's own parser

    bounds = parse(text)
    return bounds.earliest, bounds.latest


# --- SQL fragments -------------------------------------------------------------------------------------

RECORD = "{t}.id, {t}.created_at, {t}.updated_at, {t}.version, {t}.restricted"
ALIAS = {"participants": "p", "charges": "ch", "sentences": "se", "hearings": "h", "outcomes": "o", "events": "e"}


def live(alias: str, public: bool) -> str:
    return f"{alias}.deleted_at IS NULL" + (f" AND {alias}.restricted = false" if public else "")


def cited(db: Database, alias: str, record_type: str, public: bool = True) -> str:
    return (
        f"(SELECT {db.agg}(ct.source_id, ',') FROM citations ct JOIN sources s ON s.id = ct.source_id "
        f"WHERE ct.record_type = '{record_type}' AND ct.record_id = {alias}.id AND {live('s', public)})"
    )


def linked(db: Database, link: str, column: str, owner: str, target: str, alias: str, public: bool = True) -> str:
    return (
        f"(SELECT {db.agg}(l.{column}, ',') FROM {link} l JOIN {target} x ON x.id = l.{column} "
        f"WHERE l.{owner} = {alias}.id AND {live('x', public)})"
    )


def shown(alias: str, column: str, target: str, public: bool = True) -> str:
    if not public:
        return f"{alias}.{column}"
    return f"(SELECT x.id FROM {target} x WHERE x.id = {alias}.{column} AND {live('x', public)})"


def case_sql(db: Database) -> str:
    return (
        f"SELECT {RECORD.format(t='c')}, {cited(db, 'c', 'case')} AS source_ids, c.title, c.country, c.status, "
        f"c.summary, c.opened_on, c.opened_on_earliest, c.opened_on_latest FROM cases c "
        f"WHERE c.id = $1 AND {live('c', True)}"
    )


def kind_sql(db: Database, kind: str, where: str, order: str, public: bool = True) -> str:
    """The SELECT of one kind of record inside a case, its references as the viewer may see them."""
    t = ALIAS[kind]
    columns = {
        "participants": f"{cited(db, t, 'participant', public)} AS source_ids, p.case_id, p.person_id, p.role, "
        "p.since, p.since_earliest, p.since_latest, p.until, p.until_earliest, p.until_latest, p.note, pe.name",
        "charges": f"{cited(db, t, 'charge', public)} AS source_ids, ch.case_id, "
        f"{shown(t, 'person_id', 'people', public)} AS person_id, ch.statute, ch.description, ch.status, ch.date, "
        f"ch.date_earliest, ch.date_latest, "
        f"{linked(db, 'charge_people', 'person_id', 'charge_id', 'people', t, public)} AS named_person_ids",
        "sentences": f"{cited(db, t, 'sentence', public)} AS source_ids, se.case_id, "
        f"{shown(t, 'person_id', 'people', public)} AS person_id, se.kind, se.term_months, se.start_date, "
        f"se.start_date_earliest, se.start_date_latest, {shown(t, 'facility_id', 'organizations', public)} "
        "AS facility_id, se.parole_fraction, se.note",
        "hearings": f"{cited(db, t, 'hearing', public)} AS source_ids, h.case_id, h.kind, h.date, h.date_earliest, "
        f"h.date_latest, h.location, {shown(t, 'court_id', 'organizations', public)} AS court_id, "
        f"{shown(t, 'judge_id', 'people', public)} AS judge_id, h.public, h.summary",
        "outcomes": f"{cited(db, t, 'outcome', public)} AS source_ids, o.case_id, o.kind, o.date, o.date_earliest, "
        f"o.date_latest, {shown(t, 'hearing_id', 'hearings', public)} AS hearing_id, "
        f"{shown(t, 'person_id', 'people', public)} AS person_id, o.summary",
        "events": f"{cited(db, t, 'event', public)} AS source_ids, e.case_id, e.kind, e.date, e.date_earliest, "
        f"e.date_latest, e.title, e.description, e.quote, "
        f"{linked(db, 'event_people', 'person_id', 'event_id', 'people', t, public)} AS person_ids, "
        f"{linked(db, 'event_organizations', 'organization_id', 'event_id', 'organizations', t, public)} "
        "AS organization_ids",
    }[kind]
    joins = f" JOIN people pe ON pe.id = p.person_id AND {live('pe', public)}" if kind == "participants" else ""
    return f"SELECT {RECORD.format(t=t)}, {columns} FROM {kind} {t}{joins} WHERE {where} AND {live(t, public)} {order}"


# --- rows to JSON (the field order of the service's Read schemas) ----------------------------------------


def _record(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "created_at": ts(r["created_at"]),
        "updated_at": ts(r["updated_at"]),
        "version": r["version"],
        "restricted": bool(r["restricted"]),
    }


def case_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "title": r["title"],
        "country": r["country"],
        "status": r["status"],
        "summary": r["summary"],
        "opened_on": r["opened_on"],
        "opened_on_earliest": day(r["opened_on_earliest"]),
        "opened_on_latest": day(r["opened_on_latest"]),
    }


def participant_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "person_id": r["person_id"],
        "role": r["role"],
        "since": r["since"],
        "since_earliest": day(r["since_earliest"]),
        "since_latest": day(r["since_latest"]),
        "until": r["until"],
        "until_earliest": day(r["until_earliest"]),
        "until_latest": day(r["until_latest"]),
        "note": r["note"],
    }


def charge_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "person_id": r["person_id"],
        "statute": r["statute"],
        "description": r["description"],
        "status": r["status"],
        "date": r["date"],
        "date_earliest": day(r["date_earliest"]),
        "date_latest": day(r["date_latest"]),
        "named_person_ids": ids(r["named_person_ids"]),
    }


def sentence_json(r: Any) -> dict[str, Any]:
    body = {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "person_id": r["person_id"],
        "kind": r["kind"],
        "term_months": r["term_months"],
        "start_date": r["start_date"],
        "start_date_earliest": day(r["start_date_earliest"]),
        "start_date_latest": day(r["start_date_latest"]),
        "facility_id": r["facility_id"],
        "parole_fraction": r["parole_fraction"],
        "note": r["note"],
    }
    earliest = as_date(r["start_date_earliest"]) if r["start_date_earliest"] is not None else None
    latest = as_date(r["start_date_latest"]) if r["start_date_latest"] is not None else None
    for prefix, fraction in (("ends_on", 1.0), ("parole_eligible_on", r["parole_fraction"])):
        months = None if r["term_months"] is None else r["term_months"] * fraction
        derived = after_months(earliest, latest, months)
        body[prefix] = derived.value if derived else None
        body[f"{prefix}_earliest"] = derived.earliest.isoformat() if derived else None
        body[f"{prefix}_latest"] = derived.latest.isoformat() if derived else None
    return body


def hearing_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "kind": r["kind"],
        "date": r["date"],
        "date_earliest": day(r["date_earliest"]),
        "date_latest": day(r["date_latest"]),
        "location": r["location"],
        "court_id": r["court_id"],
        "judge_id": r["judge_id"],
        "public": flag(r["public"]),
        "summary": r["summary"],
    }


def outcome_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "kind": r["kind"],
        "date": r["date"],
        "date_earliest": day(r["date_earliest"]),
        "date_latest": day(r["date_latest"]),
        "hearing_id": r["hearing_id"],
        "person_id": r["person_id"],
        "summary": r["summary"],
    }


def event_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "case_id": r["case_id"],
        "kind": r["kind"],
        "date": r["date"],
        "date_earliest": day(r["date_earliest"]),
        "date_latest": day(r["date_latest"]),
        "title": r["title"],
        "description": r["description"],
        "quote": r["quote"],
        "person_ids": ids(r["person_ids"]),
        "organization_ids": ids(r["organization_ids"]),
    }


def person_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "name": r["name"],
        "aliases": aliases(r["aliases"]),
        "birth_date": r["birth_date"],
        "birth_date_earliest": day(r["birth_date_earliest"]),
        "birth_date_latest": day(r["birth_date_latest"]),
        "country": r["country"],
        "description": r["description"],
    }


def organization_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "source_ids": ids(r["source_ids"]),
        "name": r["name"],
        "kind": r["kind"],
        "country": r["country"],
        "description": r["description"],
    }


def source_json(r: Any) -> dict[str, Any]:
    return {
        **_record(r),
        "title": r["title"],
        "url": r["url"],
        "publisher": r["publisher"],
        "published_on": r["published_on"],
        "published_on_earliest": day(r["published_on_earliest"]),
        "published_on_latest": day(r["published_on_latest"]),
        "note": r["note"],
    }


RENDER: dict[str, Callable[[Any], dict[str, Any]]] = {
    "participants": participant_json,
    "charges": charge_json,
    "sentences": sentence_json,
    "hearings": hearing_json,
    "outcomes": outcome_json,
    "events": event_json,
}


# --- the timeline --------------------------------------------------------------------------------------


def _humanize(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _item(type_: str, r: Any, kind: str, title: str, people: Iterable[Any], text: Any, field: str = "date",
          phase: str | None = None, organizations: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
    earliest, latest = as_date(r[f"{field}_earliest"]), as_date(r[f"{field}_latest"])
    item = {
        "type": type_,
        "id": r["id"],
        "kind": kind,
        "phase": phase,
        "date": r[field],
        "date_earliest": earliest.isoformat(),
        "date_latest": latest.isoformat(),
        "title": title,
        "text": text,
        "person_ids": sorted({p for p in people if p}),
        "organization_ids": list(organizations),
        "source_ids": ids(r["source_ids"]),
    }
    recorded = r["created_at"]
    sort_key = (earliest, -latest.toordinal(), ITEM_RANK[type_], recorded, r["id"], 1 if phase == "end" else 0)
    return {"key": sort_key, "item": item}


def _timeline_items(kind: str, r: Any) -> list[dict[str, Any]]:
    if kind == "hearings":
        title = f"{_humanize(r['kind'])} hearing" + (f" at {r['location']}" if r["location"] else "")
        if r["public"] is not None and not r["public"]:
            title += " (closed to the public)"
        orgs = [r["court_id"]] if r["court_id"] else []
        return [_item("hearing", r, r["kind"], title, [r["judge_id"]], r["summary"], organizations=orgs)]
    if kind == "outcomes":
        return [_item("outcome", r, r["kind"], _humanize(r["kind"]), [r["person_id"]], r["summary"])]
    if kind == "events":
        return [
            _item(
                "event",
                r,
                r["kind"],
                r["title"],
                ids(r["person_ids"]),
                r["quote"] or r["description"],
                organizations=ids(r["organization_ids"]),
            )  # fmt: skip
        ]
    if kind == "charges":
        title = f"Charged: {r['description']}" + (f" ({r['statute']})" if r["statute"] else "")
        return [_item("charge", r, r["status"], title, [r["person_id"], *ids(r["named_person_ids"])], None)]
    if kind == "sentences":
        term = f"{r['term_months']} months of " if r["term_months"] is not None else ""
        title = f"Sentence begins: {term}{r['kind'].replace('_', ' ')}"
        orgs = [r["facility_id"]] if r["facility_id"] else []
        return [_item("sentence", r, r["kind"], title, [r["person_id"]], r["note"], "start_date", "start", orgs)]
    role = r["role"].replace("_", " ")
    items = []
    if r["since"] is not None:
        items.append(
            _item(
                "participant",
                r,
                r["role"],
                f"{r['name']}: {role} from here on",
                [r["person_id"]],
                r["note"],
                "since",
                "start",
            )  # fmt: skip
        )
    if r["until"] is not None:
        items.append(
            _item(
                "participant",
                r,
                r["role"],
                f"{r['name']}: no longer {role}",
                [r["person_id"]],
                r["note"],
                "until",
                "end",
            )  # fmt: skip
        )
    return items


DATED = {
    "hearings": "date",
    "outcomes": "date",
    "events": "date",
    "charges": "date",
    "sentences": "start_date",
}


def _encode_position(key: tuple[Any, ...]) -> str:
    earliest, minus_latest, rank, recorded, record_id, phase = key
    latest = dt.date.fromordinal(-minus_latest)
    raw = [earliest.isoformat(), latest.isoformat(), rank, ts(recorded).replace("Z", "+00:00"), record_id, phase]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


async def timeline(db: Database, case_id: str, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
    """Every dated record of the case, in the service's order; with ``limit`` one page: each kind's query
    continues after the cursor and stops at limit + 1 rows, as the service's do."""
    after: tuple[Any, ...] | None = None
    if cursor is not None:
        e, l_, rank, recorded, record_id, phase = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        stamp: Any = dt.datetime.fromisoformat(recorded)
        if db.dialect == "sqlite":
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        earliest, latest = dt.date.fromisoformat(e), dt.date.fromisoformat(l_)
        after = (earliest, -latest.toordinal(), int(rank), stamp, str(record_id), int(phase))
    entries: list[dict[str, Any]] = []
    for kind, field in DATED.items():
        t = ALIAS[kind]
        first, last = f"{t}.{field}_earliest", f"{t}.{field}_latest"
        where, args = f"{t}.case_id = $1 AND {first} IS NOT NULL", [case_id]
        if after is not None:
            rank = ITEM_RANK[kind[:-1]]
            same_day = f"{first} = $2 AND {last} = $3"
            tie = "true" if rank > after[2] else "false"
            if rank == after[2]:
                tie = f"({t}.created_at > $4 OR ({t}.created_at = $4 AND {t}.id > $5))"
            where += f" AND ({first} > $2 OR ({first} = $2 AND {last} < $3) OR ({same_day} AND {tie}))"
            args += [db.day(after[0]), db.day(dt.date.fromordinal(-after[1])), after[3], after[4]]
        order = f"ORDER BY {first}, {last} DESC, {t}.created_at, {t}.id LIMIT {limit + 1}" if limit is not None else ""
        if after is not None and "$4" not in where:
            args = args[:3]
        for r in await db.fetch(kind_sql(db, kind, where, order), *args):
            entries.extend(_timeline_items(kind, r))
    # A participant is two items (start and end of a role), few per case: all read, then cut below.
    for r in await db.fetch(kind_sql(db, "participants", "p.case_id = $1", ""), case_id):
        entries.extend(_timeline_items("participants", r))
    if after is not None:
        entries = [x for x in entries if x["key"] > after]
    entries.sort(key=lambda x: x["key"])
    next_cursor = None
    if limit is not None and len(entries) > limit:
        entries = entries[:limit]
        next_cursor = _encode_position(entries[-1]["key"])
    return {"case_id": case_id, "items": [x["item"] for x in entries], "next": next_cursor}


# --- endpoints -----------------------------------------------------------------------------------------


def _limit(request: Request) -> int | JSONResponse:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        return problem(422, "Invalid", f"limit: between 1 and {MAX_LIMIT}")
    return int(raw)


async def get_case(request: Request) -> Response:
    db: Database = request.app.state.db
    case = await db.fetchrow(case_sql(db), request.path_params["case_id"])
    if case is None:
        return problem(404, "Not found", f"No case with id {request.path_params['case_id']!r}")
    body = case_json(case)
    include = request.query_params.get("include")
    picked = {p.strip() for p in include.split(",")} if include else set()
    if picked - set(INCLUDES):
        return problem(400, "Bad request", f"include: one of {', '.join(INCLUDES)}")
    records: list[dict[str, Any]] = []
    for kind in ("participants", "charges", "sentences", "hearings", "outcomes", "events"):
        if kind in picked:
            alias = ALIAS[kind]
            sql = kind_sql(db, kind, f"{alias}.case_id = $1", f"ORDER BY {alias}.id")
            rows = [RENDER[kind](r) for r in await db.fetch(sql, case["id"])]
            records.extend(rows)
            body[kind] = rows
    if picked & set(RENDER):
        people = {p for r in records for p in _people_named(r) if p}
        organizations = {o for r in records for o in _organizations_named(r) if o}
        body["people"] = await _standalone(db, "people", people, "name", person_json)
        body["organizations"] = await _standalone(db, "organizations", organizations, "name", organization_json)
    if "sources" in picked:
        sources = {s for r in [body, *records] for s in r["source_ids"]}
        body["sources"] = await _standalone(db, "sources", sources, "title", source_json)
    if "timeline" in picked:
        body["timeline"] = await timeline(db, case["id"])
    return JSONResponse(body)


def _people_named(r: dict[str, Any]) -> Iterable[str | None]:
    yield r.get("person_id")
    yield r.get("judge_id")
    yield from r.get("person_ids", ())
    yield from r.get("named_person_ids", ())


def _organizations_named(r: dict[str, Any]) -> Iterable[str | None]:
    yield r.get("court_id")
    yield r.get("facility_id")
    yield from r.get("organization_ids", ())


async def _standalone(db: Database, table: str, wanted: set[str], order: str, render: Callable) -> list[Any]:
    if not wanted:
        return []
    alias = "r"
    extra = {
        "people": f", {cited(db, alias, 'person')} AS source_ids, r.name, r.aliases, r.birth_date, "
        "r.birth_date_earliest, r.birth_date_latest, r.country, r.description",
        "organizations": f", {cited(db, alias, 'organization')} AS source_ids, r.name, r.kind, r.country, "
        "r.description",
        "sources": ", r.title, r.url, r.publisher, r.published_on, r.published_on_earliest, r.published_on_latest, "
        "r.note",
    }[table]
    values = sorted(wanted)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(values)))
    sql = (
        f"SELECT {RECORD.format(t=alias)}{extra} FROM {table} r WHERE r.id IN ({placeholders}) "
        f"AND {live(alias, True)} ORDER BY r.{order}, r.id"
    )
    return [render(r) for r in await db.fetch(sql, *values)]


async def get_timeline(request: Request) -> Response:
    db: Database = request.app.state.db
    case_id = request.path_params["case_id"]
    if await db.fetchrow(f"SELECT c.id FROM cases c WHERE c.id = $1 AND {live('c', True)}", case_id) is None:
        return problem(404, "Not found", f"No case with id {case_id!r}")
    limit = None
    if "limit" in request.query_params:
        limit = _limit(request)
        if isinstance(limit, JSONResponse):
            return limit
    try:
        body = await timeline(db, case_id, limit, request.query_params.get("cursor"))
    except (ValueError, TypeError, binascii.Error):
        return problem(400, "Bad request", "cursor: not a cursor of this timeline")
    return JSONResponse(body, headers={"Vary": "Accept"})


def _list_cursor(order: str, values: list[Any]) -> str:
    payload = {"o": order, "v": values}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_cursor(cursor: str, order: str) -> list[Any]:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    if raw.get("o") != order or len(raw.get("v", [])) != 2:
        raise ValueError("another order")
    return raw["v"]


def _page(request: Request, items: list[dict[str, Any]], next_cursor: str | None) -> JSONResponse:
    headers = {}
    if next_cursor is not None:
        headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return JSONResponse({"items": items, "next": next_cursor}, headers=headers)


EVENT_COLUMNS = (
    "id", "created_at", "updated_at", "version", "restricted", "source_ids", "case_id", "kind", "date",
    "date_earliest", "date_latest", "title", "description", "quote", "person_ids", "organization_ids",
)  # fmt: skip


def events_sql(db: Database, where: str = "", tail: str = "") -> str:
    # Driven by the date index, each event's case checked by its primary key (an IN over every visible
    # case would build that set for each query: 10 ms of SQLite at full scale).
    visible_cases = (
        "EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_id AND c.deleted_at IS NULL AND c.restricted = false)"
    )
    return kind_sql(db, "events", visible_cases + where, "ORDER BY e.date_earliest, e.id") + tail


async def list_events(request: Request) -> Response:
    db: Database = request.app.state.db
    if request.query_params.get("format") == "csv":
        return export_events(request)
    limit = _limit(request)
    if isinstance(limit, JSONResponse):
        return limit
    where, args = "", []
    if (cursor := request.query_params.get("cursor")) is not None:
        try:
            value, last_id = _read_cursor(cursor, "date_earliest,id")
            after = dt.date.fromisoformat(value)
        except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
            return problem(400, "Bad request", "cursor: not a cursor this list produced")
        # The leading key bounds the index range; the rest orders the ties.
        where = " AND e.date_earliest >= $1 AND (e.date_earliest > $1 OR e.id > $2)"
        args = [db.day(after), last_id]
    rows = await db.fetch(events_sql(db, where, f" LIMIT {limit + 1}"), *args)
    items = [event_json(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = _list_cursor("date_earliest,id", [last["date_earliest"], last["id"]])
    return _page(request, items, next_cursor)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(rows: Iterable[dict[str, Any]], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(EVENT_COLUMNS)
    writer.writerows([[_cell(row[c]) for c in EVENT_COLUMNS] for row in rows])
    return buffer.getvalue()


def export_events(request: Request) -> StreamingResponse:
    """Every visible event as CSV, streamed from a server-side cursor in batches of 1,000."""
    db: Database = request.app.state.db
    sql = events_sql(db)

    async def body() -> AsyncIterator[str]:
        yield _csv([], header=True)
        if isinstance(db, Postgres):
            async with db.connection() as conn, conn.transaction():
                cursor = await conn.cursor(sql)
                while rows := await cursor.fetch(1000):
                    yield _csv((event_json(r) for r in rows), header=False)
        else:
            assert isinstance(db, SQLite)
            conn = db.open()  # its own connection: the shared one keeps answering meanwhile
            try:
                cursor = conn.execute(db.sql(sql))
                while rows := cursor.fetchmany(1000):
                    yield _csv((event_json(r) for r in rows), header=False)
            finally:
                conn.close()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="events.csv"'},
    )


async def list_outcomes(request: Request) -> Response:
    db: Database = request.app.state.db
    limit = _limit(request)
    if isinstance(limit, JSONResponse):
        return limit
    kinds = [k.strip() for k in request.query_params.get("kind", "").split(",") if k.strip()]
    country = request.query_params.get("country")
    where, args = ["c.deleted_at IS NULL", "c.restricted = false"], []
    if kinds:
        where.append(f"o.kind IN ({', '.join(f'${len(args) + i + 1}' for i in range(len(kinds)))})")
        args += kinds
    if country:
        args.append(country.upper())
        where.append(f"c.country = ${len(args)}")
    # The page is chosen first, then only its rows get their citations and references (SQLite would
    # compute them for every matching row before sorting).
    page = (
        f"SELECT o.id FROM outcomes o JOIN cases c ON c.id = o.case_id WHERE {' AND '.join(where)} "
        f"AND {live('o', True)} ORDER BY o.date_earliest, o.id LIMIT {limit + 1}"
    )
    sql = kind_sql(db, "outcomes", f"o.id IN ({page})", "ORDER BY o.date_earliest, o.id")
    rows = await db.fetch(sql, *args)
    items = [outcome_json(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = _list_cursor("date_earliest,id", [items[-1]["date_earliest"], items[-1]["id"]])
    return _page(request, items, next_cursor)


async def list_people(request: Request) -> Response:
    db: Database = request.app.state.db
    limit = _limit(request)
    if isinstance(limit, JSONResponse):
        return limit
    terms = [t.lower() for t in re.findall(r"\w+", request.query_params.get("q", ""))][:12]
    if not terms:
        return problem(400, "Bad request", "q: give at least one word to search for")
    person = (
        f"{RECORD.format(t='r')}, {cited(db, 'r', 'person')} AS source_ids, r.name, r.aliases, r.birth_date, "
        "r.birth_date_earliest, r.birth_date_latest, r.country, r.description"
    )
    if db.dialect == "postgresql":
        # The service's expressions exactly: the GIN index is on this to_tsvector(...).
        sql = (
            f"SELECT {person}, m.rank FROM people r JOIN (SELECT d.record_id, CAST(ts_rank("
            "setweight(to_tsvector('simple', d.title), 'A') || setweight(to_tsvector('simple', d.body), 'B'), "
            "to_tsquery('simple', $1)) AS FLOAT) AS rank FROM search_documents d WHERE d.record_type = 'person' "
            "AND to_tsvector('simple', coalesce(d.title, '') || ' ' || coalesce(d.body, '')) @@ "
            f"to_tsquery('simple', $1)) m ON m.record_id = r.id WHERE {live('r', True)} "
            f"ORDER BY m.rank DESC, r.id LIMIT {limit + 1}"
        )
        query = " & ".join(f"{t}:*" for t in terms)
    else:
        sql = (
            f"SELECT {person}, m.rank FROM people r JOIN (SELECT d.record_id, CAST(-bm25(search_fts, 10.0, 1.0) "
            "AS FLOAT) AS rank FROM search_fts JOIN search_documents d ON d.rowid = search_fts.rowid "
            "WHERE search_fts MATCH $1 AND d.record_type = 'person') m ON m.record_id = r.id "
            f"WHERE {live('r', True)} ORDER BY m.rank DESC, r.id LIMIT {limit + 1}"
        )
        query = " AND ".join(f'"{t}"*' for t in terms)
    rows = await db.fetch(sql, query)
    items = [person_json(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = _list_cursor("-rank,id", [rows[limit - 1]["rank"], items[-1]["id"]])
    return _page(request, items, next_cursor)


# --- writes ------------------------------------------------------------------------------------------


async def _editor(db: Database, conn: Any, request: Request) -> str | JSONResponse:
    """The token's name when it may write; a problem otherwise."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return problem(401, "Unauthorized", "Changing records needs an API token with the editor role.")
    digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
    row = await _one(
        db, conn, "SELECT name, role FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL", digest
    )
    if row is None:
        return problem(401, "Unauthorized", "The API token is unknown or has been revoked.")
    if row["role"] not in ("editor", "admin"):
        return problem(403, "Forbidden", "Changing records needs the editor role.")
    return row["name"]


async def _one(db: Database, conn: Any, sql: str, *args: Any) -> Any:
    if isinstance(db, Postgres):
        return await conn.fetchrow(sql, *args)
    return conn.execute(db.sql(sql), args).fetchone()


async def _all(db: Database, conn: Any, sql: str, *args: Any) -> list[Any]:
    if isinstance(db, Postgres):
        return await conn.fetch(sql, *args)
    return conn.execute(db.sql(sql), args).fetchall()


async def _run(db: Database, conn: Any, sql: str, *args: Any) -> int:
    """Execute; return the number of rows changed."""
    if isinstance(db, Postgres):
        status = await conn.execute(sql, *args)
        return int(status.rsplit(" ", 1)[-1])
    return conn.execute(db.sql(sql), args).rowcount


async def _audit(db: Database, conn: Any, actor: str, action: str, record_id: str, before: Any, after: Any) -> None:
    if isinstance(db, Postgres):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK)
    await _run(
        db,
        conn,
        "INSERT INTO audit_entries (at, actor, action, record_type, record_id, before, after) "
        "VALUES ($1, $2, $3, 'event', $4, $5, $6)",
        db.now(),
        actor,
        action,
        record_id,
        None if before is None else json.dumps(before),
        json.dumps(after),
    )


async def _missing(db: Database, conn: Any, table: str, wanted: list[str]) -> list[str]:
    if not wanted:
        return []
    unique = sorted(set(wanted))
    placeholders = ", ".join(f"${i + 1}" for i in range(len(unique)))
    found = {
        r["id"]
        for r in await _all(
            db, conn, f"SELECT id FROM {table} WHERE id IN ({placeholders}) AND deleted_at IS NULL", *unique
        )
    }
    return [i for i in unique if i not in found]


class Transaction:
    """One connection and one transaction for a write (SQLite: BEGIN IMMEDIATE on the shared connection)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __aenter__(self) -> Any:
        if isinstance(self.db, Postgres):
            self.acquired = self.db.pool.acquire()
            self.conn = await self.acquired.__aenter__()
            self.tx = self.conn.transaction()
            await self.tx.start()
            return self.conn
        assert isinstance(self.db, SQLite) and self.db.conn is not None
        self.conn = self.db.conn
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    async def __aexit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if isinstance(self.db, Postgres):
            try:
                if kind is None:
                    await self.tx.commit()
                else:
                    await self.tx.rollback()
            finally:
                await self.acquired.__aexit__(kind, exc, tb)
            return
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _text(value: Any, limit: int, strip: bool = True) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip() if strip else value
    return value if 1 <= len(value) <= limit and "\x00" not in value else None


async def create_event(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        data = await request.json()
    except ValueError:
        return problem(400, "Bad request", "The body is not JSON.")
    allowed = {"kind", "date", "title", "description", "quote", "person_ids", "organization_ids", "source_ids",
               "restricted"}  # fmt: skip
    if not isinstance(data, dict) or set(data) - allowed:
        return problem(422, "Invalid", "unknown or malformed fields")
    kind, date, title = data.get("kind"), data.get("date"), _text(data.get("title"), 500)
    links = {name: data.get(name, []) for name in ("person_ids", "organization_ids", "source_ids")}
    if kind not in EVENT_KINDS or not isinstance(date, str) or title is None:
        return problem(422, "Invalid", "kind, date and title are required")
    if not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in links.values()):
        return problem(422, "Invalid", "id lists must be lists of ids")
    try:
        earliest, latest = edtf_bounds(date)
    except ValueError as exc:
        return problem(422, "Invalid", f"date: {exc}")
    description, quote = data.get("description"), data.get("quote")
    restricted = bool(data.get("restricted", False))
    case_id = request.path_params["case_id"]
    async with Transaction(db) as conn:
        actor = await _editor(db, conn, request)
        if not isinstance(actor, str):
            return actor
        if await _one(db, conn, "SELECT id FROM cases WHERE id = $1 AND deleted_at IS NULL", case_id) is None:
            return problem(404, "Not found", f"No case with id {case_id!r}")
        for field, table in (
            ("person_ids", "people"),
            ("organization_ids", "organizations"),
            ("source_ids", "sources"),
        ):
            if missing := await _missing(db, conn, table, links[field]):
                return problem(422, "Invalid", f"{field}: no record with id {', '.join(missing)}")
        event_id, now = uuid.uuid4().hex, db.now()
        await _run(
            db,
            conn,
            "INSERT INTO events (id, created_at, updated_at, version, restricted, case_id, kind, date, date_earliest, "
            "date_latest, title, description, quote) VALUES ($1, $2, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            event_id, now, restricted, case_id, kind, date, db.day(earliest), db.day(latest), title, description, quote,
        )  # fmt: skip
        for table, column, field in (
            ("event_people", "person_id", "person_ids"),
            ("event_organizations", "organization_id", "organization_ids"),
        ):
            for target in sorted(set(links[field])):
                await _run(db, conn, f"INSERT INTO {table} (event_id, {column}) VALUES ($1, $2)", event_id, target)
        for source_id in sorted(set(links["source_ids"])):
            await _run(
                db, conn, "INSERT INTO citations (record_type, record_id, source_id) VALUES ('event', $1, $2)",
                event_id, source_id,
            )  # fmt: skip
        body_text = " ".join(filter(None, [description, quote]))
        await _run(
            db, conn, "INSERT INTO search_documents (record_type, record_id, title, body) VALUES ('event', $1, $2, $3)",
            event_id, title, body_text,
        )  # fmt: skip
        created = ts(now)
        body = {
            "id": event_id, "created_at": created, "updated_at": created, "version": 1, "restricted": restricted,
            "source_ids": sorted(set(links["source_ids"])), "case_id": case_id, "kind": kind, "date": date,
            "date_earliest": earliest.isoformat(), "date_latest": latest.isoformat(), "title": title,
            "description": description, "quote": quote, "person_ids": sorted(set(links["person_ids"])),
            "organization_ids": sorted(set(links["organization_ids"])),
        }  # fmt: skip
        await _audit(db, conn, actor, "create", event_id, None, body)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/events/{event_id}", "ETag": '"1"'})


async def update_event(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        data = await request.json()
    except ValueError:
        return problem(400, "Bad request", "The body is not JSON.")
    if not isinstance(data, dict) or set(data) - {"title", "description", "quote"}:
        return problem(422, "Invalid", "this baseline updates title, description and quote only")
    if "title" in data and _text(data["title"], 500) is None:
        return problem(422, "Invalid", "title: 1 to 500 characters")
    event_id = request.path_params["event_id"]
    async with Transaction(db) as conn:
        actor = await _editor(db, conn, request)
        if not isinstance(actor, str):
            return actor
        case_live = "EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_id AND c.deleted_at IS NULL)"
        sql = kind_sql(db, "events", f"e.id = $1 AND {case_live}", "", public=False)
        row = await _one(db, conn, sql, event_id)
        if row is None:
            return problem(404, "Not found", f"No event with id {event_id!r}")
        etag = f'"{row["version"]}"'
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip() != "*" and etag not in [t.strip() for t in if_match.split(",")]:
            return problem(
                412, "Precondition failed", f"The record has changed since you read it (its ETag is now {etag})."
            )
        before = event_json(row)
        after = {**before, **{k: (v.strip() if k == "title" else v) for k, v in data.items()}}
        now = db.now()
        changed = await _run(
            db, conn,
            "UPDATE events SET title = $1, description = $2, quote = $3, updated_at = $4, version = version + 1 "
            "WHERE id = $5 AND version = $6",
            after["title"], after["description"], after["quote"], now, event_id, row["version"],
        )  # fmt: skip
        if changed != 1:
            return problem(409, "Conflict", "The record was changed by another request meanwhile; retry.")
        after.update(version=row["version"] + 1, updated_at=ts(now))
        await _run(
            db, conn,
            "UPDATE search_documents SET title = $1, body = $2 WHERE record_type = 'event' AND record_id = $3",
            after["title"], " ".join(filter(None, [after["description"], after["quote"]])), event_id,
        )  # fmt: skip
        await _audit(db, conn, actor, "update", event_id, before, after)
    return JSONResponse(after, headers={"ETag": f'"{after["version"]}"'})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or "sqlite:///casetrack.db"
    db = database_from_url(url)

    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.start()
        yield
        await db.stop()

    from contextlib import asynccontextmanager

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/v1/cases/{case_id}", get_case),
            Route("/api/v1/cases/{case_id}/timeline", get_timeline),
            Route("/api/v1/cases/{case_id}/events", create_event, methods=["POST"]),
            Route("/api/v1/events", list_events),
            Route("/api/v1/events/{event_id}", update_event, methods=["PATCH"]),
            Route("/api/v1/outcomes", list_outcomes),
            Route("/api/v1/people", list_people),
        ],
        lifespan=asynccontextmanager(lifespan),
    )
    app.state.db = db
    return app

"""Small persistence helpers the domain services share: lookups, reference checks, link tables.

They keep each service's queries visible while sparing every service the same ten lines.
"""

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import MappedSQLExpression, column_property

from app.dates import set_edtf
from app.db import INCLUDE_DELETED, utcnow
from app.errors import Conflict, Invalid, NotFound
from app.kinds import registry_of

T = TypeVar("T")

# How a write holds a row it read until its transaction ends, so that writes which could interleave badly
# queue instead (PostgreSQL row locks; SQLite needs none, its writers hold the whole database already):
# "update" for the record a write changes or deletes, "share" for one it refers to, which may then be
# neither deleted nor changed meanwhile. Shared locks do not exclude each other.
RowLock = Literal["update", "share"]


def _for(lock: RowLock | None) -> bool | dict[str, bool] | None:
    return None if lock is None else {"read": lock == "share"}


# Whether this statement may show restricted records. False unless the request's viewer has reader
# rights (app/visibility.py sets it per statement), so a forgotten case hides rather than leaks.
SHOW_RESTRICTED = bindparam("show_restricted", value=False, type_=Boolean)


def _visible(target: FromClause) -> ColumnElement[bool]:
    return and_(target.c.deleted_at.is_(None), or_(SHOW_RESTRICTED, target.c.restricted == false()))


def aggregated_ids(
    link_column: Column[Any], target: FromClause, *where: ColumnElement[bool]
) -> MappedSQLExpression[str | None]:
    """A read-only attribute holding the comma-joined ids a link table points at, loaded with the row
    itself; ids of records the viewer may not see (restricted, deleted) are left out."""
    return column_property(
        select(func.aggregate_strings(link_column, ","))
        .join_from(link_column.table, target, target.c.id == link_column)
        .where(*where, _visible(target))
        .scalar_subquery()
    )


def shown_id(column: Any, target: FromClause) -> MappedSQLExpression[str | None]:
    """A reference as the viewer may see it: the id, or null when it names a record hidden from them."""
    hidden_check = select(target.c.id).where(target.c.id == column, _visible(target)).scalar_subquery()
    return column_property(case((SHOW_RESTRICTED, column), else_=hidden_check))


def names_visible(column: Any, target: Any, record_id: str) -> ColumnElement[bool]:
    """``column == record_id``, for a filter on a reference, but only when the viewer may see that
    record: filtering public records by a restricted person's id must not reveal who they name.
    (``target`` is an ORM entity, so the session's visibility filter applies inside the EXISTS.)"""
    return and_(column == record_id, select(target.id).where(target.id == record_id).exists())


def split_ids(joined: str | None) -> list[str]:
    return sorted(joined.split(",")) if joined else []


async def get_or_404(
    session: AsyncSession, model: type[T], record_id: str, label: str, lock: RowLock | None = None
) -> T:
    """The record, or a 404. With a ``lock``, its current state is read and held until the transaction ends:
    a lock waits for the writers before it, and a record they deleted is then not found."""
    # populate_existing: a record this session loaded before the lock is refreshed, not served stale.
    record = await session.get(model, record_id, with_for_update=_for(lock), populate_existing=lock is not None)
    if record is None:
        raise NotFound(f"No {label} with id {record_id!r}")
    return record


async def require_ids(session: AsyncSession, model: Any, ids: Iterable[str | None], field: str, label: str) -> None:
    """A 422 naming the field when a body refers to records that do not exist (or are deleted).

    Those that do are locked against deletion until the transaction ends: a concurrent delete either
    finishes first (and they are missing here) or waits, and then finds them referenced."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    found = set((await session.scalars(select(model.id).where(model.id.in_(wanted)).with_for_update(read=True))).all())
    missing = sorted(wanted - found)
    if missing:
        raise Invalid.field(field, f"no {label} with id {', '.join(map(repr, missing))}")


async def replace_links(
    session: AsyncSession, table: Table, owner: Mapping[str, Any], target: str, ids: Sequence[str], new: bool = False
) -> None:
    """Make the link rows of one owner exactly ``ids`` (order and duplicates do not matter). ``new``: the owner
    was created in this transaction (a new random id), so it has no link rows yet to delete."""
    if not new:
        conditions = [table.c[name] == value for name, value in owner.items()]
        await session.execute(delete(table).where(*conditions))
    unique = sorted(set(ids))
    if unique:
        await session.execute(insert(table), [{**owner, target: i} for i in unique])


async def refuse_if_referenced(
    session: AsyncSession, label: str, record_id: str, references: Mapping[str, Select[Any]]
) -> None:
    """409 when live records still point at this one; one statement checks every place at once.

    ``references`` maps a description to a SELECT of the referencing records' ids (ORM entities,
    so deleted ones are left out by the session's visibility filter)."""
    checks = [query.exists().label(f"ref{i}") for i, query in enumerate(references.values())]
    row = (await session.execute(select(*checks))).one()
    used_by = [name for name, used in zip(references, row, strict=True) if used]
    if used_by:
        raise Conflict(
            f"The {label} {record_id!r} is still referenced by {', '.join(used_by)}; remove or change those first."
        )


@cache
def edtf_fields(model: type) -> frozenset[str]:
    """The EDTF fields of a model: those stored beside ``<name>_earliest`` and ``<name>_latest`` bounds."""
    columns: set[str] = set(inspect(model).columns.keys())
    return frozenset(name for name in columns if f"{name}_earliest" in columns and f"{name}_latest" in columns)


def apply_changes(record: Any, changes: Mapping[str, Any]) -> None:
    """Copy validated fields onto a model, computing the calendar bounds of its EDTF fields."""
    dated = edtf_fields(type(record))  # type: ignore[arg-type]  # python/mypy#11470: a class is Hashable
    for name, value in changes.items():
        if name in dated:
            set_edtf(record, name, value)
        else:
            setattr(record, name, value)
    if inspect(record).persistent:
        record.updated_at = utcnow()  # also when only links or citations change


async def records_inside(session: AsyncSession, case_id: str, live: bool) -> list[Any]:
    """Every record inside a case (``live``: only those not deleted on their own), whatever the case's state,
    kind by kind in the registry's order."""
    found: list[Any] = []
    for kind in registry_of(session).values():
        if not kind.inside_a_case:
            continue
        model: Any = kind.model
        stmt = select(model).where(model.case_id == case_id).order_by(model.created_at, model.id)
        if live:
            stmt = stmt.where(model.deleted_at.is_(None))
        found += (await session.scalars(stmt.execution_options(**{INCLUDE_DELETED: True}))).all()
    return found

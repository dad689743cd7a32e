from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.dates import EARLIEST_DAY
from app.kinds import registry_of
from app.listing import Sorting
from app.people.models import Person
from app.people.schemas import PersonCreate, PersonUpdate
from app.records import apply_changes, refuse_if_referenced
from app.sources.writes import finish, soft_delete


async def create_person(session: AsyncSession, data: PersonCreate, *, record_id: str | None = None) -> Person:
    person = Person(id=record_id)
    apply_changes(person, data.model_dump(exclude={"source_ids"}))
    session.add(person)
    return await finish(session, person, None, data.source_ids)


async def update_person(session: AsyncSession, person: Person, data: PersonUpdate) -> Person:
    before = snapshot(session, person)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    apply_changes(person, changes)
    return await finish(session, person, before, source_ids)


async def delete_person(session: AsyncSession, person: Person) -> None:
    referenced_by = registry_of(session)["person"].referenced_by
    await refuse_if_referenced(session, "person", person.id, {name: ids(person.id) for name, ids in referenced_by})
    await soft_delete(session, person)


SORTING = Sorting(
    {
        "name": Person.name,
        "country": Person.country,
        "birth_date": Person.birth_date_earliest,
        "created_at": Person.created_at,
        "updated_at": Person.updated_at,
    },
    default="name",
    id_column=Person.id,
    nulls={"country": "", "birth_date": EARLIEST_DAY},
)


def people_query(country: str | None = None) -> Select[Person]:
    stmt = select(Person)
    if country is not None:
        stmt = stmt.where(Person.country == country)
    return stmt

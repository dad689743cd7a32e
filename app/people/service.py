from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.cases.models import Charge, Participant, Sentence, charge_people
from app.dates import EARLIEST_DAY
from app.events.models import Event, event_people
from app.hearings.models import Hearing, Outcome
from app.listing import Sorting
from app.people.models import Person
from app.people.schemas import PersonCreate, PersonUpdate
from app.records import apply_changes, refuse_if_referenced
from app.sources.writes import finish, soft_delete


async def create_person(session: AsyncSession, data: PersonCreate) -> Person:
    person = Person()
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
    await refuse_if_referenced(
        session,
        "person",
        person.id,
        {
            "participants": select(Participant.id).where(Participant.person_id == person.id),
            "charges": select(Charge.id).where(Charge.person_id == person.id),
            "charges (named people)": select(Charge.id)
            .join(charge_people, charge_people.c.charge_id == Charge.id)
            .where(charge_people.c.person_id == person.id),
            "sentences": select(Sentence.id).where(Sentence.person_id == person.id),
            "hearings (as judge)": select(Hearing.id).where(Hearing.judge_id == person.id),
            "outcomes": select(Outcome.id).where(Outcome.person_id == person.id),
            "events": select(Event.id)
            .join(event_people, event_people.c.event_id == Event.id)
            .where(event_people.c.person_id == person.id),
        },
    )
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

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, Charge, Participant, Sentence, charge_people
from app.cases.schemas import ParticipantRole
from app.dates import EARLIEST_DAY
from app.events.models import event_people
from app.hearings.models import Hearing, Outcome
from app.listing import Sorting
from app.people.models import Person
from app.people.schemas import Participation, PersonCreate, PersonUpdate
from app.records import apply_changes, refuse_if_referenced
from app.search import service as search
from app.sources.service import cite, uncite


async def create_person(session: AsyncSession, data: PersonCreate) -> Person:
    person = Person()
    apply_changes(person, data.model_dump(exclude={"source_ids"}))
    session.add(person)
    await session.flush()
    await cite(session, person, data.source_ids)
    await session.refresh(person)
    await search.index(session, person)
    return person


async def update_person(session: AsyncSession, person: Person, data: PersonUpdate) -> Person:
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    apply_changes(person, changes)
    await session.flush()
    if source_ids is not None:
        await cite(session, person, source_ids)
    await session.refresh(person)
    await search.index(session, person)
    return person


async def delete_person(session: AsyncSession, person: Person) -> None:
    await refuse_if_referenced(
        session,
        "person",
        person.id,
        {
            "participants": Participant.person_id,
            "charges": Charge.person_id,
            "charges (named people)": charge_people.c.person_id,
            "sentences": Sentence.person_id,
            "hearings (as judge)": Hearing.judge_id,
            "outcomes": Outcome.person_id,
            "events": event_people.c.person_id,
        },
    )
    await uncite(session, Person.record_type, [person.id])
    await search.unindex(session, Person.record_type, [person.id])
    await session.delete(person)
    await session.flush()


async def participations(session: AsyncSession, person_id: str) -> list[Participation]:
    rows = await session.execute(
        select(Participant.id, Participant.case_id, Case.title, Participant.role, Participant.since, Participant.until)
        .join(Case, Case.id == Participant.case_id)
        .where(Participant.person_id == person_id)
        .order_by(Case.title, Participant.case_id, Participant.role, Participant.id)
    )
    return [
        Participation(participant_id=r[0], case_id=r[1], case_title=r[2], role=r[3], since=r[4], until=r[5])
        for r in rows
    ]


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


def people_query(
    country: str | None = None, role: list[ParticipantRole] | None = None, case_id: str | None = None
) -> Select[tuple[Person]]:
    stmt = select(Person)
    if country is not None:
        stmt = stmt.where(Person.country == country.upper())
    if role or case_id is not None:
        involved = select(Participant.person_id)
        if role:
            involved = involved.where(Participant.role.in_(role))
        if case_id is not None:
            involved = involved.where(Participant.case_id == case_id)
        stmt = stmt.where(Person.id.in_(involved))
    return stmt

"""The model case, from the article "Kazakhstan: Jailed Opposition Leader Refused Parole".

Every fact in the article is here, each citing the article (and the Facebook posts it quotes).
What the article does not say is not invented: the year of "December 8" and of "since summer" is the
year the article was published, marked uncertain (``?``). The start of the sentence is derived from
what the article does say: he applied for parole after serving half of his 7.5-year term (45 months),
before the hearing of December 8, for violence in 2011; so the term began between 2011 and 7 March
2012 (``2011/2012-03-07?``), and the application falls between the first day half of it may have run
and the day before the hearing. The notes say so.

Ids are derived from fixed keys, so loading twice changes nothing.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import SYSTEM
from app.cases import service as cases
from app.cases.models import Case, Charge, Participant, Sentence
from app.cases.schemas import CaseCreate, ChargeCreate, ParticipantCreate, SentenceCreate
from app.config import Settings, get_settings
from app.db import INCLUDE_DELETED, Record
from app.events import service as events
from app.events.models import Event
from app.events.schemas import EventCreate
from app.hearings import service as hearings
from app.hearings.models import Hearing, Outcome
from app.hearings.schemas import HearingCreate, OutcomeCreate
from app.organizations import service as organizations
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate
from app.people import service as people
from app.people.models import Person
from app.people.schemas import PersonCreate
from app.records import get_or_404
from app.sources import service as sources
from app.sources.models import Source
from app.sources.schemas import SourceCreate

NAMESPACE = uuid.UUID("6b1f7d1e-3c55-4c1b-9a57-0000000c0a5e")
INFERRED = "The article gives no year; 2015 is the year the article was published."


def demo_id(key: str) -> str:
    return uuid.uuid5(NAMESPACE, key).hex


CASE_ID = demo_id("case")
ARTICLE, UMAROVA_POSTS, TURUSBEKOVA_POSTS = demo_id("article"), demo_id("umarova-posts"), demo_id("turusbekova-posts")
KOZLOV, UMAROVA, TURUSBEKOVA = demo_id("kozlov"), demo_id("umarova"), demo_id("turusbekova")
JUDGE, NAZARBAYEV = demo_id("judge"), demo_id("nazarbayev")
PRISON, PARTY, KZ_GOVERNMENT = demo_id("prison"), demo_id("party"), demo_id("kz-government")
EUROPARL, US_GOVERNMENT, UN_RAPPORTEUR, RIGHTS_GROUPS = (
    demo_id("europarl"),
    demo_id("us-government"),
    demo_id("un-rapporteur"),
    demo_id("rights-groups"),
)
PAROLE_HEARING = demo_id("parole-hearing")

KOZLOV_SPEECH = (
    "I have not committed any crimes. I headed a political party, and when the oil workers of Zhanaozen "
    "came and asked for support in their economic and social dispute with employers, we decided to offer "
    "them informational, legal and consultative support. [...] I did not call for unrest, did not take "
    "part in any, and warned against any use of violence, but my imprisonment continues."
)

SOURCES: list[tuple[str, dict[str, Any]]] = [
    (
        "article",
        {
            "title": "Kazakhstan: Jailed Opposition Leader Refused Parole",
            "publisher": "Eurasianet",
            "url": "https://eurasianet.org/s/kazakhstan-jailed-opposition-leader-refused-parole",
            "published_on": "2015-12?",
            "note": "Reports the parole hearing of December 8. The article names no year and the copy the demo was "
            "made from no date: the month of publication is inferred from the events it reports.",
        },
    ),
    (
        "umarova-posts",
        {
            "title": "Aiman Umarova's Facebook posts on the parole hearing (incl. Kozlov's speech)",
            "publisher": "Facebook",
            "published_on": "2015-12-08?",
            "note": "Known through the article, which quotes them.",
        },
    ),
    (
        "turusbekova-posts",
        {
            "title": "Aliya Turusbekova's Facebook comment after the parole hearing",
            "publisher": "Facebook",
            "published_on": "2015-12?",
            "note": "Known through the article, which quotes it.",
        },
    ),
]

PEOPLE: list[tuple[str, dict[str, Any]]] = [
    (
        "kozlov",
        {
            "name": "Vladimir Kozlov",
            "aliases": ["Владимир Козлов"],
            "country": "KZ",
            "description": "Jailed opposition leader in Kazakhstan; headed a political party that offered support "
            "to striking oil workers in Zhanaozen.",
        },
    ),
    (
        "umarova",
        {
            "name": "Aiman Umarova",
            "aliases": ["Айман Умарова"],
            "country": "KZ",
            "description": "Kozlov's lawyer.",
        },
    ),
    (
        "turusbekova",
        {
            "name": "Aliya Turusbekova",
            "aliases": ["Алия Турусбекова"],
            "country": "KZ",
            "description": "Kozlov's wife.",
        },
    ),
    (
        "judge",
        {
            "name": "Unnamed judge (Kozlov parole hearing)",
            "country": "KZ",
            "description": "Presided over the parole hearing; the article does not give the judge's name. "
            "Kozlov's lawyer complained of the judge's \"negative attitude\" to Kozlov.",
        },
    ),
    (
        "nazarbayev",
        {
            "name": "Nursultan Nazarbayev",
            "aliases": ["Нурсултан Назарбаев"],
            "country": "KZ",
            "description": "President of Kazakhstan, whom Kozlov was convicted of seeking to overthrow.",
        },
    ),
]

ORGANIZATIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "prison",
        {
            "name": "Jail outside Almaty",
            "kind": "prison",
            "country": "KZ",
            "description": "Where Kozlov is held and the parole hearing took place; the article does not name it.",
        },
    ),
    (
        "party",
        {
            "name": "Political party headed by Vladimir Kozlov",
            "kind": "party",
            "country": "KZ",
            "description": "The article does not name the party.",
        },
    ),
    (
        "kz-government",
        {
            "name": "Government of Kazakhstan",
            "kind": "government",
            "country": "KZ",
            "description": "Acknowledged mishandling the Zhanaozen oil-sector strike.",
        },
    ),
    ("europarl", {"name": "European Parliament", "kind": "international_body"}),
    ("us-government", {"name": "United States government (Washington)", "kind": "government", "country": "US"}),
    ("un-rapporteur", {"name": "United Nations rapporteur", "kind": "international_body"}),
    (
        "rights-groups",
        {
            "name": "International human rights groups",
            "kind": "ngo",
            "description": "Not named individually in the article.",
        },
    ),
]

CASE: dict[str, Any] = {
    "title": "Vladimir Kozlov: the Zhanaozen unrest case",
    "country": "KZ",
    "status": "imprisoned",
    "summary": "Opposition leader Vladimir Kozlov was jailed for seven and a half years on charges of inciting "
    "violence in the western oil town of Zhanaozen in 2011 and of seeking to use the unrest to overthrow "
    "President Nursultan Nazarbayev. He says his only link to the violence was legitimate political support "
    "for striking oil workers. His parole application was rejected on December 8 (2015, inferred).",
}

PARTICIPANTS: list[tuple[str, dict[str, Any]]] = [
    ("p-kozlov", {"person_id": KOZLOV, "role": "defendant"}),
    ("p-umarova", {"person_id": UMAROVA, "role": "lawyer"}),
    ("p-turusbekova", {"person_id": TURUSBEKOVA, "role": "spouse"}),
    (
        "p-judge",
        {
            "person_id": JUDGE,
            "role": "judge",
            "since": "2015-12-08?",
            "note": "Judge at the parole hearing.",
        },
    ),
]

CHARGES: list[tuple[str, dict[str, Any]]] = [
    (
        "c-inciting",
        {
            "person_id": KOZLOV,
            "status": "convicted",
            "description": "Inciting violence in the western oil town of Zhanaozen in 2011",
        },
    ),
    (
        "c-overthrow",
        {
            "person_id": KOZLOV,
            "status": "convicted",
            "named_person_ids": [NAZARBAYEV],
            "description": "Seeking to use the unrest in Zhanaozen to overthrow President Nursultan Nazarbayev "
            "in the capital, Astana",
        },
    ),
]

SENTENCES: list[tuple[str, dict[str, Any]]] = [
    (
        "s-prison",
        {
            "person_id": KOZLOV,
            "kind": "imprisonment",
            "term_months": 90,
            "parole_fraction": 0.5,
            "start_date": "2011/2012-03-07?",
            "facility_id": PRISON,
            "note": "Seven and a half years (90 months); parole may be sought after half (45 months). The start "
            "is not in the article; it is derived from what the article says. He applied for parole after "
            "serving half the term, and applied before the hearing of 8 December 2015, so the term began no "
            "later than 7 March 2012 (45 months before 7 December 2015; uncertain as that year is); it "
            "counts from his detention, which cannot precede the Zhanaozen violence of 2011 he was jailed "
            "for. Parole may thus be sought from between 1 October 2014 and 7 December 2015.",
        },
    ),
]

HEARINGS: list[tuple[str, dict[str, Any]]] = [
    (
        "parole-hearing",
        {
            "kind": "parole",
            "date": "2015-12-08?",
            "location": "Jail outside Almaty",
            "judge_id": JUDGE,
            "public": False,
            "summary": "Hearing of Kozlov's parole application, held in the jail. Journalists and human rights "
            "campaigners were not admitted. Kozlov denied committing any crimes. " + INFERRED,
            "extra_sources": [UMAROVA_POSTS],
        },
    ),
]

OUTCOMES: list[tuple[str, dict[str, Any]]] = [
    (
        "o-convicted",
        {
            "kind": "convicted",
            "date": "2012?",
            "person_id": KOZLOV,
            "summary": "Found guilty of inciting violence in Zhanaozen and of seeking to use the unrest to "
            "overthrow the President. The article gives no date; assumed about 2012, after the detention the sentence "
            "counts from (see the sentence).",
        },
    ),
    (
        "o-sentenced",
        {
            "kind": "sentenced",
            "date": "2012?",
            "person_id": KOZLOV,
            "summary": "Sentenced to seven and a half years in jail. Date inferred, as above.",
        },
    ),
    (
        "o-parole-denied",
        {
            "kind": "parole_denied",
            "date": "2015-12-08?",
            "hearing_id": PAROLE_HEARING,
            "person_id": KOZLOV,
            "summary": "The judge rejected Kozlov's application for early release; he remains behind bars. " + INFERRED,
            "extra_sources": [UMAROVA_POSTS],
        },
    ),
]

EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "e-support",
        {
            "kind": "other",
            "date": "2011",
            "title": "Kozlov's party offers support to striking oil workers",
            "description": "When the oil workers of Zhanaozen asked for support in their dispute with employers, the "
            "party Kozlov headed offered them informational, legal and consultative support.",
            "person_ids": [KOZLOV],
            "organization_ids": [PARTY],
        },
    ),
    (
        "e-zhanaozen",
        {
            "kind": "incident",
            "date": "2011",
            "title": "Oil-sector strike in Zhanaozen turns violent: 15 civilians killed",
            "description": "The strike spiraled into violence; 15 civilians died in clashes with armed security "
            "forces. The government acknowledged mishandling the strike. Kozlov was not in Zhanaozen when the "
            "dispute turned violent.",
            "organization_ids": [KZ_GOVERNMENT],
        },
    ),
    (
        "e-regime",
        {
            "kind": "detention_change",
            "date": "2015-22",
            "title": "Placed on a stricter detention regime",
            "description": "For alleged violations of prison rules. Summer; the year is inferred (the article, "
            'from December, says "since summer").',
            "person_ids": [KOZLOV],
            "organization_ids": [PRISON],
        },
    ),
    (
        "e-visits",
        {
            "kind": "visit",
            "date": "2015-22/2015-12",
            "title": "Wife unable to visit since the summer",
            "description": "Aliya Turusbekova has not been able to visit her husband since he was placed on the "
            "stricter regime.",
            "person_ids": [TURUSBEKOVA, KOZLOV],
            "organization_ids": [PRISON],
        },
    ),
    (
        "e-filing",
        {
            "kind": "filing",
            "date": "2014-10/2015-12-07?",
            "title": "Kozlov applies for parole",
            "description": "He exercised his legal right to seek parole after serving half of his term. The article "
            "gives no date: after half the term could have run (from October 2014, see the sentence) and "
            "before the hearing of December 8.",
            "person_ids": [KOZLOV],
        },
    ),
    (
        "e-speech",
        {
            "kind": "statement",
            "date": "2015-12-08?",
            "title": "Kozlov denies any crime at his parole hearing",
            "description": "Speech at the parole hearing, posted on Facebook by his lawyer.",
            "quote": KOZLOV_SPEECH,
            "person_ids": [KOZLOV, UMAROVA],
            "extra_sources": [UMAROVA_POSTS],
        },
    ),
    (
        "e-lawyer",
        {
            "kind": "statement",
            "date": "2015-12-08?",
            "title": "Lawyer complains of the judge's attitude",
            "description": "Aiman Umarova complained on Facebook of the judge's negative attitude to Kozlov.",
            "quote": "negative attitude",
            "person_ids": [UMAROVA, JUDGE],
            "extra_sources": [UMAROVA_POSTS],
        },
    ),
    (
        "e-wife",
        {
            "kind": "statement",
            "date": "2015-12?",
            "title": 'Wife calls the hearing "a clown show and not a court"',
            "description": "Aliya Turusbekova, on Facebook after the parole hearing.",
            "quote": "very sad at all this absurdity [...] a clown show and not a court",
            "person_ids": [TURUSBEKOVA],
            "extra_sources": [TURUSBEKOVA_POSTS],
        },
    ),
    (
        "e-europarl",
        {
            "kind": "reaction",
            "date": "2012/2015-12",
            "title": "European Parliament resolutions on the case",
            "description": "Dates not given in the article; between the conviction and the article.",
            "organization_ids": [EUROPARL],
        },
    ),
    (
        "e-washington",
        {
            "kind": "reaction",
            "date": "2012/2015-12",
            "title": "Washington expresses concern",
            "organization_ids": [US_GOVERNMENT],
        },
    ),
    (
        "e-un",
        {
            "kind": "reaction",
            "date": "2012/2015-12",
            "title": "A United Nations rapporteur expresses concern",
            "organization_ids": [UN_RAPPORTEUR],
        },
    ),
    (
        "e-ngos",
        {
            "kind": "reaction",
            "date": "2012/2015-12",
            "title": "International human rights groups express concern",
            "organization_ids": [RIGHTS_GROUPS],
        },
    ),
]

S = TypeVar("S", bound=BaseModel)
Facts = dict[str, Any]
# Creates one record from the demo's facts under the given id, through the service the API's POST route calls.
Create = Callable[[Facts, str], Awaitable[Record]]


def _body(schema: type[S], facts: Facts, cites: bool = True) -> S:
    """The facts as the API's own schema validates a request body: citing the article, and the posts it quotes."""
    facts = dict(facts)
    extra_sources = facts.pop("extra_sources", [])
    return schema.model_validate({**facts, "source_ids": [ARTICLE, *extra_sources]} if cites else facts)


async def _ensure(session: AsyncSession, model: type[Record], rows: list[tuple[str, Facts]], create: Create) -> int:
    """Create each record under its fixed id unless it exists; how many were created. A demo record someone has
    deleted exists too (it can still be restored): it is left deleted, not made again under the same id."""
    created = 0
    for key, facts in rows:
        record_id = demo_id(key)
        if await session.get(model, record_id, execution_options={INCLUDE_DELETED: True}) is None:
            await create(facts, record_id)
            created += 1
    return created


async def load_demo(session: AsyncSession, settings: Settings | None = None) -> int:
    """Load the Kozlov case; returns how many records were created (0 when it was already there).

    Every record is written by the service its API route calls, as the system: validated, cited, indexed for
    search, with its computed dates and an audit entry, exactly as the same body POSTed through the API."""
    session.info["viewer"] = SYSTEM
    settings = settings or get_settings()
    created = await _ensure(
        session,
        Source,
        SOURCES,
        lambda facts, record_id: sources.create_source(
            session, _body(SourceCreate, facts, cites=False), record_id=record_id
        ),
    )
    created += await _ensure(
        session,
        Person,
        PEOPLE,
        lambda facts, record_id: people.create_person(session, _body(PersonCreate, facts), record_id=record_id),
    )
    created += await _ensure(
        session,
        Organization,
        ORGANIZATIONS,
        lambda facts, record_id: organizations.create_organization(
            session, _body(OrganizationCreate, facts), record_id=record_id
        ),
    )
    created += await _ensure(
        session,
        Case,
        [("case", CASE)],
        lambda facts, record_id: cases.create_case(session, _body(CaseCreate, facts), record_id=record_id),
    )
    # As a POST inside a case holds the case it adds to (app.http.load). A deleted demo case gets nothing added.
    demo_case = await session.get(Case, CASE_ID, execution_options={INCLUDE_DELETED: True})
    if demo_case is None or demo_case.deleted_at is not None:
        return created
    case = await get_or_404(session, Case, CASE_ID, "case", lock="share")
    inside: list[tuple[type[Record], list[tuple[str, Facts]], Create]] = [
        (
            Participant,
            PARTICIPANTS,
            lambda facts, record_id: cases.create_participant(
                session, case, _body(ParticipantCreate, facts), record_id=record_id
            ),
        ),
        (
            Charge,
            CHARGES,
            lambda facts, record_id: cases.create_charge(
                session, case, _body(ChargeCreate, facts), record_id=record_id
            ),
        ),
        (
            Sentence,
            SENTENCES,
            lambda facts, record_id: cases.create_sentence(
                session, case, _body(SentenceCreate, facts), settings, record_id=record_id
            ),
        ),
        (
            Hearing,
            HEARINGS,
            lambda facts, record_id: hearings.create_hearing(
                session, case, _body(HearingCreate, facts), record_id=record_id
            ),
        ),
        (
            Outcome,
            OUTCOMES,
            lambda facts, record_id: hearings.create_outcome(
                session, case, _body(OutcomeCreate, facts), record_id=record_id
            ),
        ),
        (
            Event,
            EVENTS,
            lambda facts, record_id: events.create_event(session, case, _body(EventCreate, facts), record_id=record_id),
        ),
    ]
    for model, rows, create in inside:
        created += await _ensure(session, model, rows, create)
    await session.flush()
    return created

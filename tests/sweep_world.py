"""The world the adversarial sweep (tests/test_sweep.py) reads: every kind of record hidden every way
the service hides records, each beside the public records that name it.

Every text field of a hidden record carries a word of its own (``hid`` + 12 hex digits) and every
public record one of ``pub`` + 12 hex digits, so a scan of raw responses can tell, for any byte it
finds, which record it came from. Built once through the API as an admin.

The hidden records name public "loners": a person, an organization and a source that are public but
linked to nothing public. Whatever the public learns of them beyond their own record would be a link
a hidden record made (a restricted participant making a public person a defendant of a public case...).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers import API, INSIDE, collection, post

# Countries only hidden cases are in: the public must not learn they exist (filters, the case list's
# country menu). ``UNUSED_COUNTRY`` is in no case at all, to compare with.
HIDDEN_COUNTRIES = {"BT": "Bhutan", "TV": "Tuvalu", "NR": "Nauru"}
PUBLIC_COUNTRY = "KZ"
UNUSED_COUNTRY = "AQ"


def word(prefix: str) -> str:
    """A word the full-text search takes as one (letters and digits) and no response holds by chance."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class World:
    public: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> ids
    hidden: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # kind -> (why, id)
    public_words: list[str] = field(default_factory=list)
    hidden_words: dict[str, str] = field(default_factory=dict)  # word -> why it is hidden
    searchable_hidden_words: dict[str, str] = field(default_factory=dict)  # word -> kind whose `q` would find it
    case: str = ""  # the public case everything hidden is placed in
    person: str = ""  # the public person named everywhere
    statutes: dict[str, str] = field(default_factory=dict)  # statute text -> "public" or why hidden
    loners: dict[str, str] = field(default_factory=dict)  # kind -> id of a public record only hidden ones name
    words: dict[str, str] = field(default_factory=dict)  # record id -> its word

    def hidden_ids(self) -> dict[str, str]:
        """id -> what it is, for every hidden record."""
        return {record_id: f"{kind}: {why}" for kind, records in self.hidden.items() for why, record_id in records}

    def secrets(self) -> dict[str, str]:
        """Everything the public must never see: the ids of hidden records, their words and hidden countries."""
        return {
            **self.hidden_ids(),
            **self.hidden_words,
            **{name: "hidden country" for name in HIDDEN_COUNTRIES.values()},
        }


SEARCH_FIELD = {"people": "name", "organizations": "name", "cases": "title", "events": "title"}


# Hidden records are dated in a year no public record is, so a date of theirs is seen wherever it shows
# (a calendar, a time axis, a humanized date on a page), whatever the format.
HIDDEN_YEAR = "1937"
HIDDEN_YEAR_PATTERN = rf"(?<![0-9A-Za-z]){HIDDEN_YEAR}(?:[0-9]{{4}})?(?![0-9A-Za-z])"


def body_of(kind: str, tag: str, person: str, year: str = "2012") -> dict[str, Any]:
    """A record of ``kind`` whose every free-text field carries ``tag``; dated, so it reaches the timeline."""
    return {
        "people": {"name": f"{tag} Person", "aliases": [f"{tag} alias"], "description": f"About {tag}"},
        "organizations": {"name": f"{tag} Organization", "kind": "prison", "description": f"About {tag}"},
        "sources": {
            "title": f"{tag} report",
            "publisher": f"{tag} press",
            "url": f"https://example.org/{tag}",
            "published_on": f"{year}-03",
        },
        "cases": {"title": f"{tag} case", "summary": f"About {tag}", "opened_on": f"{year}-01", "status": "trial"},
        "participants": {"person_id": person, "role": "defendant", "since": f"{year}-01-23", "note": f"{tag} note"},
        "charges": {"description": f"{tag} charge", "statute": f"Art. {tag}", "date": f"{year}-02"},
        "sentences": {"person_id": person, "term_months": 90, "start_date": f"{year}-10-08", "note": f"{tag} note"},
        "hearings": {"kind": "trial", "date": f"{year}-08-16", "summary": f"{tag} summary", "location": f"{tag} room"},
        "outcomes": {"kind": "convicted", "date": f"{year}-10-08", "summary": f"{tag} summary"},
        "events": {"kind": "arrest", "date": f"{year}-01-23", "title": f"{tag} event", "quote": f"{tag} said"},
    }[kind]


class Builder:
    def __init__(self, admin: httpx.AsyncClient) -> None:
        self.admin = admin
        self.world = World()

    async def record(self, kind: str, why: str | None, case: str = "", **fields: Any) -> str:
        """Create a record of ``kind``, public (``why`` None) or hidden for the reason ``why``."""
        tag = word("pub" if why is None else "hid")
        year = "2012" if why is None else HIDDEN_YEAR
        body = {**body_of(kind, tag, fields.pop("person", self.world.person), year), **fields}
        created = await post(self.admin, collection(kind, case or self.world.case), body)
        self.world.words[created["id"]] = tag
        if why is None:
            self.world.public[kind].append(created["id"])
            self.world.public_words.append(tag)
        else:
            self.world.hidden[kind].append((why, created["id"]))
            self.world.hidden_words[tag] = f"{kind}: {why}"
            if kind in SEARCH_FIELD:
                self.world.searchable_hidden_words[tag] = kind
        if kind == "charges":
            self.world.statutes[body["statute"]] = why or "public"
        return created["id"]

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> None:
        response = await self.admin.request(method, f"{API}{path}", **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"

    def naming_loners(self, kind: str) -> dict[str, Any]:
        """The fields by which a hidden record of ``kind`` names the loners."""
        person, organization = self.world.loners["people"], self.world.loners["organizations"]
        return {
            "people": {},
            "organizations": {},
            "sources": {},
            "cases": {},
            "participants": {"person": person},
            "charges": {"person_id": person, "named_person_ids": [person]},
            "sentences": {"person": person, "facility_id": organization},
            "hearings": {"judge_id": person, "court_id": organization},
            "outcomes": {"person_id": person},
            "events": {"person_ids": [person], "organization_ids": [organization]},
        }[kind] | ({} if kind == "sources" else {"source_ids": [self.world.loners["sources"]]})

    async def hidden(self, kind: str, why: str, case: str = "", **fields: Any) -> str:
        """A hidden record naming the loners."""
        return await self.record(kind, why, case, **(self.naming_loners(kind) | fields))

    async def deleted(self, kind: str, why: str, case: str = "", **fields: Any) -> str:
        record_id = await self.hidden(kind, why, case, **fields)
        await self.call("DELETE", f"/{kind}/{record_id}", 204)
        return record_id

    async def purged(self, kind: str, why: str, case: str = "", **fields: Any) -> str:
        record_id = await self.deleted(kind, why, case, **fields)
        await self.call("POST", f"/{kind}/{record_id}/purge", 204)
        return record_id

    async def inner_records(self, case: str, why: str, **fields: Any) -> dict[str, str]:
        """One hidden record of every kind inside ``case``."""
        return {kind: await self.hidden(kind, why, case, **fields) for kind in INSIDE}


async def build_world(admin: httpx.AsyncClient) -> World:
    b = Builder(admin)
    w = b.world

    # What is public, and what the hidden records are named by.
    source = await b.record("sources", None)
    organization = await b.record("organizations", None, country=PUBLIC_COUNTRY)
    w.person = await b.record("people", None, country=PUBLIC_COUNTRY)
    for kind in ("people", "organizations", "sources"):
        w.loners[kind] = await b.record(kind, None)
    hidden_source = await b.hidden("sources", "restricted", restricted=True)
    hidden_organization = await b.hidden("organizations", "restricted", restricted=True, country="NR")
    hidden_person = await b.hidden("people", "restricted", restricted=True, country="BT")
    cited = [source, hidden_source]
    w.case = await b.record("cases", None, country=PUBLIC_COUNTRY, source_ids=cited)
    await b.record("cases", None, country=PUBLIC_COUNTRY)  # a second public case, for paging across hidden ones
    await b.call("PATCH", f"/people/{w.person}", 200, json={"source_ids": cited})
    await b.call("PATCH", f"/organizations/{organization}", 200, json={"source_ids": cited})

    # Public at first (so indexed for search as such), then restricted.
    made_restricted = await b.hidden("people", "made restricted after being public")
    await b.call("PATCH", f"/people/{made_restricted}", 200, json={"restricted": True})

    # Deleted and purged records of the standalone kinds.
    for kind in ("people", "organizations", "sources"):
        await b.deleted(kind, "deleted")
        await b.purged(kind, "purged")

    # Restricted, deleted and purged records of every kind inside the public case.
    hidden_in_case = await b.inner_records(w.case, "restricted, in the public case", restricted=True)
    for kind in INSIDE:
        await b.deleted(kind, "deleted, in the public case")
        await b.purged(kind, "purged, in the public case")

    # Public records in the public case naming the hidden ones, each citing a restricted source.
    await b.record("participants", None, source_ids=cited)
    await b.record(
        "participants", "public participant who is a restricted person", person=hidden_person, role="witness"
    )
    await b.record("charges", None, named_person_ids=[w.person, hidden_person], source_ids=cited)
    await b.record("charges", None, person_id=hidden_person, source_ids=cited)
    await b.record("sentences", None, facility_id=hidden_organization, source_ids=cited)
    await b.record("sentences", None, person=hidden_person, facility_id=organization, source_ids=cited)
    await b.record("hearings", None, judge_id=hidden_person, court_id=hidden_organization, source_ids=cited)
    await b.record("outcomes", None, person_id=hidden_person, hearing_id=hidden_in_case["hearings"], source_ids=cited)
    await b.record(
        "events",
        None,
        person_ids=[w.person, hidden_person],
        organization_ids=[organization, hidden_organization],
        source_ids=cited,
    )

    # A restricted case with every kind inside, the public person taking part; a deleted one; a purged one.
    restricted_case = await b.hidden("cases", "restricted", restricted=True, country="BT")
    await b.inner_records(restricted_case, "inside a restricted case")
    await b.record("participants", "inside a restricted case", restricted_case, person=w.person)
    await b.record("events", "inside a restricted case", restricted_case, person_ids=[w.person])
    deleted_case = await b.hidden("cases", "deleted", country="TV")
    await b.inner_records(deleted_case, "inside a deleted case")
    await b.call("DELETE", f"/cases/{deleted_case}", 204)
    purged_case = await b.hidden("cases", "purged", country="NR")
    await b.inner_records(purged_case, "inside a purged case")
    await b.call("DELETE", f"/cases/{purged_case}", 204)
    await b.call("POST", f"/cases/{purged_case}/purge", 204)
    return w

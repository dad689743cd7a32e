"""What the case page shows, worked out from the same body the JSON API returns for
``GET /api/v1/cases/{id}?include=...`` (app.timeline.embedding.case_with_records): names instead of ids,
dates as people say them, decisions classed as for or against the person, and every record's sources
as numbered references to the list at the bottom of the page.
"""

from dataclasses import dataclass, field
from typing import Any

import pycountry

from app.cases.schemas import ParticipantRole
from app.hearings.schemas import outcome_tone
from app.web import humanize

ROLE_ORDER = [role.value for role in ParticipantRole]
ROLE_PLURAL = {"defendant": "Defendants", "lawyer": "Lawyers", "spouse": "Spouses", "relative": "Relatives"}


def country_name(code: str | None) -> str | None:
    if not code:
        return None
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


@dataclass
class Citation:
    number: int
    anchor: str
    title: str


@dataclass
class Fact:
    """One record shown on the page: what it says and where it comes from."""

    id: str
    title: str
    date: str | None = None
    text: str | None = None
    quote: str | None = None
    tone: str = "neutral"
    closed: bool = False
    restricted: bool = False
    anchor: str = ""
    earliest: str | None = None
    latest: str | None = None
    kind_label: str = ""
    type: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)


class CasePage:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.people = {p["id"]: p for p in body.get("people") or []}
        self.organizations = {o["id"]: o for o in body.get("organizations") or []}
        self.sources = body.get("sources") or []
        self.source_numbers = {s["id"]: n for n, s in enumerate(self.sources, start=1)}
        self.hearings = {h["id"]: h for h in body.get("hearings") or []}
        self.outcomes = {o["id"]: o for o in body.get("outcomes") or []}
        self.events = {e["id"]: e for e in body.get("events") or []}
        self.records = {
            (kind.removesuffix("s"), record["id"]): record
            for kind in ("participants", "charges", "sentences", "hearings", "outcomes", "events")
            for record in body.get(kind) or []
        }

    # Helpers

    def person(self, person_id: str | None) -> str | None:
        return self.people[person_id]["name"] if person_id in self.people else None

    def organization(self, organization_id: str | None) -> str | None:
        return self.organizations[organization_id]["name"] if organization_id in self.organizations else None

    def cite(self, source_ids: list[str]) -> list[Citation]:
        numbers = sorted({self.source_numbers[s] for s in source_ids if s in self.source_numbers})
        return [Citation(n, f"source-{self.sources[n - 1]['id']}", self.sources[n - 1]["title"]) for n in numbers]

    # Sections

    @property
    def title(self) -> str:
        title: str = self.body["title"]
        return title

    @property
    def country(self) -> str | None:
        return country_name(self.body.get("country"))

    @property
    def status(self) -> str | None:
        return humanize.label(self.body.get("status")) or None

    @property
    def summary_citations(self) -> list[Citation]:
        return self.cite(self.body.get("source_ids", []))

    @property
    def defendants(self) -> list[str]:
        names = [self.person(p["person_id"]) for p in self.body.get("participants") or [] if p["role"] == "defendant"]
        return [n for n in names if n]

    def roles(self) -> list[tuple[str, list[Fact]]]:
        """Who is who: participants grouped by role, defendants first."""
        groups: dict[str, list[Fact]] = {}
        for p in self.body.get("participants") or []:
            name = self.person(p["person_id"])
            if name is None:
                continue
            details = []
            if p.get("since"):
                details.append(("Since", humanize.edtf(p["since"], p["since_earliest"], p["since_latest"])))
            if p.get("until"):
                details.append(("Until", humanize.edtf(p["until"], p["until_earliest"], p["until_latest"])))
            person = self.people[p["person_id"]]
            groups.setdefault(p["role"], []).append(
                Fact(
                    id=p["id"],
                    title=name,
                    text=person.get("description"),
                    quote=None,
                    details=details + ([("Note", p["note"])] if p.get("note") else []),
                    citations=self.cite([*p["source_ids"], *person["source_ids"]]),
                    restricted=p["restricted"] or person["restricted"],
                    anchor=f"participant-{p['id']}",
                )
            )
        ordered = sorted(groups.items(), key=lambda kv: ROLE_ORDER.index(kv[0]) if kv[0] in ROLE_ORDER else 99)
        return [
            (humanize.label(role) if len(facts) == 1 else ROLE_PLURAL.get(role, humanize.label(role) + "s"), facts)
            for role, facts in ordered
        ]

    def charges(self) -> list[Fact]:
        facts = []
        for c in self.body.get("charges") or []:
            details = [("Status", humanize.label(c["status"]))]
            if c.get("statute"):
                details.append(("Statute", c["statute"]))
            if self.person(c.get("person_id")):
                details.append(("Accused", self.person(c["person_id"]) or ""))
            named = [n for n in (self.person(i) for i in c.get("named_person_ids", [])) if n]
            if named:
                details.append(("Names", ", ".join(named)))
            if c.get("date"):
                details.append(("Brought", humanize.edtf(c["date"], c["date_earliest"], c["date_latest"])))
            facts.append(
                Fact(
                    id=c["id"],
                    title=c["description"],
                    tone="adverse" if c["status"] == "convicted" else "neutral",
                    details=details,
                    citations=self.cite(c["source_ids"]),
                    restricted=c["restricted"],
                    anchor=f"charge-{c['id']}",
                )
            )
        return facts

    def sentences(self) -> list[Fact]:
        facts = []
        for s in self.body.get("sentences") or []:
            who = self.person(s.get("person_id")) or "Someone not shown"
            kind = humanize.label(s["kind"]).lower()
            term = f"{humanize.term(s['term_months'])} of " if s.get("term_months") is not None else ""
            title = f"{who}: {term}{kind}"
            details = []
            if s.get("start_date"):
                details.append(
                    ("Began", humanize.edtf(s["start_date"], s["start_date_earliest"], s["start_date_latest"]))
                )
            if s.get("ends_on"):
                details.append(
                    ("Full term ends", humanize.edtf(s["ends_on"], s["ends_on_earliest"], s["ends_on_latest"]))
                )
            if s.get("parole_eligible_on"):
                details.append(
                    (
                        f"Parole may be sought (after {humanize.fraction(s['parole_fraction'])} the term)",
                        humanize.edtf(
                            s["parole_eligible_on"], s["parole_eligible_on_earliest"], s["parole_eligible_on_latest"]
                        ),
                    )
                )
            if self.organization(s.get("facility_id")):
                details.append(("Held at", self.organization(s["facility_id"]) or ""))
            facts.append(
                Fact(
                    id=s["id"],
                    title=title,
                    text=s.get("note"),
                    details=details,
                    citations=self.cite(s["source_ids"]),
                    restricted=s["restricted"],
                    anchor=f"sentence-{s['id']}",
                )
            )
        return facts

    def decisions(self) -> list[Fact]:
        """Every outcome, in date order: what the courts decided."""
        ordered = sorted(self.outcomes.values(), key=lambda o: (o["date_earliest"], o["date_latest"], o["created_at"]))
        return [self._outcome(o) for o in ordered]

    def _outcome(self, o: dict[str, Any]) -> Fact:
        details = []
        if self.person(o.get("person_id")):
            details.append(("Concerns", self.person(o["person_id"]) or ""))
        hearing = self.hearings.get(o.get("hearing_id") or "")
        if hearing is not None:
            details.append(("At", f"{humanize.label(hearing['kind'])} hearing"))
        return Fact(
            id=o["id"],
            title=humanize.label(o["kind"]),
            date=humanize.edtf(o["date"], o["date_earliest"], o["date_latest"]),
            text=o.get("summary"),
            tone=outcome_tone(o["kind"]),
            details=details,
            citations=self.cite(o["source_ids"]),
            restricted=o["restricted"],
            anchor=f"outcome-{o['id']}",
        )

    def hearing_list(self) -> list[Fact]:
        ordered = sorted(self.hearings.values(), key=lambda h: (h["date_earliest"], h["date_latest"], h["created_at"]))
        facts = []
        for h in ordered:
            details = []
            if h.get("location"):
                details.append(("Where", h["location"]))
            if self.organization(h.get("court_id")):
                details.append(("Court", self.organization(h["court_id"]) or ""))
            if self.person(h.get("judge_id")):
                details.append(("Judge", self.person(h["judge_id"]) or ""))
            details.append(("Open to the public", {True: "yes", False: "no", None: "not known"}[h.get("public")]))
            decided = [humanize.label(o["kind"]) for o in self.outcomes.values() if o.get("hearing_id") == h["id"]]
            if decided:
                details.append(("Decided", ", ".join(decided)))
            facts.append(
                Fact(
                    id=h["id"],
                    title=f"{humanize.label(h['kind'])} hearing",
                    date=humanize.edtf(h["date"], h["date_earliest"], h["date_latest"]),
                    text=h.get("summary"),
                    closed=h.get("public") is False,
                    details=details,
                    citations=self.cite(h["source_ids"]),
                    restricted=h["restricted"],
                    anchor=f"hearing-{h['id']}",
                )
            )
        return facts

    def timeline(self) -> list[Fact]:
        items = (self.body.get("timeline") or {}).get("items", [])
        facts = []
        for item in items:
            tone = outcome_tone(item["kind"]) if item["type"] == "outcome" else "neutral"
            hearing = self.hearings.get(item["id"]) if item["type"] == "hearing" else None
            event = self.events.get(item["id"]) if item["type"] == "event" else None
            facts.append(
                Fact(
                    id=item["id"],
                    type=item["type"],
                    title=item["title"],
                    date=humanize.edtf(item["date"], item["date_earliest"], item["date_latest"]),
                    text=event.get("description") if event else item.get("text"),
                    quote=event.get("quote") if event else None,
                    tone=tone,
                    closed=bool(hearing and hearing.get("public") is False),
                    kind_label=self._item_label(item),
                    earliest=item["date_earliest"],
                    latest=item["date_latest"],
                    citations=self.cite(item["source_ids"]),
                    restricted=self.records.get((item["type"], item["id"]), {}).get("restricted", False),
                    anchor=f"item-{item['type']}-{item['id']}" + (f"-{item['phase']}" if item.get("phase") else ""),
                )
            )
        return facts

    @staticmethod
    def _item_label(item: dict[str, Any]) -> str:
        if item["type"] == "outcome":
            return "Decision"
        if item["type"] == "participant":
            return "Role"
        if item["type"] == "event":
            return humanize.label(item["kind"])
        return humanize.label(item["type"])

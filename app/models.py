"""Every mapped model, imported once so metadata (and Alembic) sees the whole schema."""

from app.audit.models import AuditEntry
from app.auth.models import ApiToken
from app.cases.models import Case, Charge, Participant, Sentence, charge_people
from app.db import Base
from app.events.models import Event, event_organizations, event_people
from app.hearings.models import Hearing, Outcome
from app.organizations.models import Organization
from app.people.models import Person
from app.search.models import SearchDocument
from app.sources.models import Source, citations

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Case",
    "Charge",
    "Event",
    "Hearing",
    "Organization",
    "Outcome",
    "Participant",
    "Person",
    "SearchDocument",
    "SearchDocument",
    "Sentence",
    "Source",
    "charge_people",
    "citations",
    "event_organizations",
    "event_people",
]

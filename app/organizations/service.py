from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Sentence
from app.events.models import event_organizations
from app.hearings.models import Hearing
from app.listing import Sorting
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationKind, OrganizationUpdate
from app.records import apply_changes, refuse_if_referenced
from app.search import service as search
from app.sources.service import cite, uncite


async def create_organization(session: AsyncSession, data: OrganizationCreate) -> Organization:
    organization = Organization()
    apply_changes(organization, data.model_dump(exclude={"source_ids"}))
    session.add(organization)
    await session.flush()
    await cite(session, organization, data.source_ids)
    await session.refresh(organization)
    await search.index(session, organization)
    return organization


async def update_organization(
    session: AsyncSession, organization: Organization, data: OrganizationUpdate
) -> Organization:
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    apply_changes(organization, changes)
    await session.flush()
    if source_ids is not None:
        await cite(session, organization, source_ids)
    await session.refresh(organization)
    await search.index(session, organization)
    return organization


async def delete_organization(session: AsyncSession, organization: Organization) -> None:
    await refuse_if_referenced(
        session,
        "organization",
        organization.id,
        {
            "hearings (as court)": Hearing.court_id,
            "sentences (as facility)": Sentence.facility_id,
            "events": event_organizations.c.organization_id,
        },
    )
    await uncite(session, Organization.record_type, [organization.id])
    await search.unindex(session, Organization.record_type, [organization.id])
    await session.delete(organization)
    await session.flush()


SORTING = Sorting(
    {
        "name": Organization.name,
        "kind": Organization.kind,
        "country": Organization.country,
        "created_at": Organization.created_at,
        "updated_at": Organization.updated_at,
    },
    default="name",
    id_column=Organization.id,
    nulls={"country": ""},
)


def organizations_query(
    kind: list[OrganizationKind] | None = None, country: str | None = None
) -> Select[tuple[Organization]]:
    stmt = select(Organization)
    if kind:
        stmt = stmt.where(Organization.kind.in_(kind))
    if country is not None:
        stmt = stmt.where(Organization.country == country.upper())
    return stmt

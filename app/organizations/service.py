from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import snapshot
from app.kinds import registry_of
from app.listing import Sorting
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationKind, OrganizationUpdate
from app.records import apply_changes, refuse_if_referenced
from app.sources.writes import finish, soft_delete


async def create_organization(
    session: AsyncSession, data: OrganizationCreate, *, record_id: str | None = None
) -> Organization:
    organization = Organization(id=record_id)
    apply_changes(organization, data.model_dump(exclude={"source_ids"}))
    session.add(organization)
    return await finish(session, organization, None, data.source_ids)


async def update_organization(
    session: AsyncSession, organization: Organization, data: OrganizationUpdate
) -> Organization:
    before = snapshot(session, organization)
    changes = data.model_dump(exclude_unset=True)
    source_ids = changes.pop("source_ids", None)
    apply_changes(organization, changes)
    return await finish(session, organization, before, source_ids)


async def delete_organization(session: AsyncSession, organization: Organization) -> None:
    referenced_by = registry_of(session)["organization"].referenced_by
    await refuse_if_referenced(
        session, "organization", organization.id, {name: ids(organization.id) for name, ids in referenced_by}
    )
    await soft_delete(session, organization)


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


def organizations_query(kind: list[OrganizationKind] | None = None, country: str | None = None) -> Select[Organization]:
    stmt = select(Organization)
    if kind:
        stmt = stmt.where(Organization.kind.in_(kind))
    if country is not None:
        stmt = stmt.where(Organization.country == country)
    return stmt

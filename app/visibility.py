"""Who sees what, enforced once for every ORM query instead of in each service.

Every statement a CasetrackSession runs is filtered by the viewer stored in ``session.info``:
- deleted records (``deleted_at`` set) are never loaded, unless the statement asks for them with
  the ``include_deleted`` execution option (restore, purge, history);
- without reader rights, restricted records do not exist: not the record, not what lies inside a
  restricted case, not a participant who is a restricted person; and the ids other records hold of
  hidden records are blanked in SQL (``SHOW_RESTRICTED`` in app/records.py).
A session with no viewer is treated as anonymous, so a forgotten case hides rather than leaks.
"""

from typing import Any

from sqlalchemy import event, false, select
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria

from app.auth.roles import ANONYMOUS, Viewer
from app.cases.models import Case, Charge, Participant, Sentence
from app.db import CasetrackSession
from app.events.models import Event
from app.hearings.models import Hearing, Outcome
from app.organizations.models import Organization
from app.people.models import Person
from app.sources.models import Source

INCLUDE_DELETED = "include_deleted"
STANDALONE = (Person, Organization, Source, Case)
INSIDE_A_CASE = (Participant, Charge, Sentence, Hearing, Outcome, Event)


def viewer_of(session: Any) -> Viewer:
    return session.info.get("viewer", ANONYMOUS)


def _live_criteria() -> list[Any]:
    options = [
        with_loader_criteria(model, lambda cls: cls.deleted_at.is_(None), include_aliases=True)
        for model in (*STANDALONE, *INSIDE_A_CASE)
    ]
    options += [
        with_loader_criteria(
            model,
            lambda cls: cls.case_id.in_(select(Case.id).where(Case.deleted_at.is_(None))),
            include_aliases=True,
        )
        for model in INSIDE_A_CASE
    ]
    return options


def _public_criteria() -> list[Any]:
    options = [
        with_loader_criteria(model, lambda cls: cls.restricted == false(), include_aliases=True)
        for model in (*STANDALONE, *INSIDE_A_CASE)
    ]
    options += [
        with_loader_criteria(
            model,
            lambda cls: cls.case_id.in_(select(Case.id).where(Case.restricted == false())),
            include_aliases=True,
        )
        for model in INSIDE_A_CASE
    ]
    options.append(
        with_loader_criteria(
            Participant,
            lambda cls: cls.person_id.in_(
                select(Person.id).where(Person.restricted == false(), Person.deleted_at.is_(None))
            ),
            include_aliases=True,
        )
    )
    return options


LIVE = _live_criteria()
PUBLIC = _public_criteria()


@event.listens_for(CasetrackSession, "do_orm_execute")
def _filter_by_viewer(state: ORMExecuteState) -> Any:
    if not state.is_select:
        return None
    viewer = viewer_of(state.session)
    options = [] if state.execution_options.get(INCLUDE_DELETED) else list(LIVE)
    if not viewer.sees_restricted:
        options += PUBLIC
    if options:
        state.statement = state.statement.options(*options)
    if viewer.sees_restricted:
        if state.parameters is None:
            state.parameters = {}
        return state.invoke_statement(params={"show_restricted": True})
    return None

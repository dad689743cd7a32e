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

from sqlalchemy import and_, event, exists, false
from sqlalchemy.orm import ORMExecuteState, aliased, with_loader_criteria

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
    viewer: Viewer = session.info.get("viewer", ANONYMOUS)
    return viewer


# The case a record lies in, under a name of its own: a correlated EXISTS on it (not ``case_id IN (SELECT
# ...)``, which SQLite answers by scanning every case) stays an index lookup, and the alias keeps it from
# correlating with a ``cases`` table the outer query may itself select from.
_OWNING_CASE = aliased(Case, name="owning_case")
_PARTICIPANT_PERSON = aliased(Person, name="participant_person")


# A participant who is a restricted (or deleted) person is not shown to the public, even with deleted records.
_PUBLIC_PARTICIPANTS = with_loader_criteria(
    Participant,
    lambda cls: exists().where(
        _PARTICIPANT_PERSON.id == cls.person_id,
        _PARTICIPANT_PERSON.restricted == false(),
        _PARTICIPANT_PERSON.deleted_at.is_(None),
    ),
    include_aliases=True,
)


def _criteria(public: bool) -> list[Any]:
    """One option per model: its own rule and, inside a case, the case's; the public also lose restricted records
    and participants who are restricted (or deleted) people."""
    options = [
        with_loader_criteria(
            model,
            (lambda cls: and_(cls.deleted_at.is_(None), cls.restricted == false()))
            if public
            else (lambda cls: cls.deleted_at.is_(None)),
            include_aliases=True,
        )
        for model in STANDALONE
    ]
    for model in INSIDE_A_CASE:
        if public:
            rule = lambda cls: and_(  # noqa: E731
                cls.deleted_at.is_(None),
                cls.restricted == false(),
                exists().where(
                    _OWNING_CASE.id == cls.case_id,
                    _OWNING_CASE.deleted_at.is_(None),
                    _OWNING_CASE.restricted == false(),
                ),
            )
        else:
            rule = lambda cls: and_(  # noqa: E731
                cls.deleted_at.is_(None),
                exists().where(_OWNING_CASE.id == cls.case_id, _OWNING_CASE.deleted_at.is_(None)),
            )
        options.append(with_loader_criteria(model, rule, include_aliases=True))
    if public:
        options.append(_PUBLIC_PARTICIPANTS)
    return options


def _deleted_too(public: bool) -> list[Any]:
    """With ``include_deleted`` (restore, purge, history): only what the public may not see is left out."""
    if not public:
        return []
    options = [
        with_loader_criteria(model, lambda cls: cls.restricted == false(), include_aliases=True) for model in STANDALONE
    ]
    options += [
        with_loader_criteria(
            model,
            lambda cls: and_(
                cls.restricted == false(),
                exists().where(_OWNING_CASE.id == cls.case_id, _OWNING_CASE.restricted == false()),
            ),
            include_aliases=True,
        )
        for model in INSIDE_A_CASE
    ]
    return [*options, _PUBLIC_PARTICIPANTS]


# (include_deleted, public) -> the options every statement of that kind gets.
OPTIONS = {
    (False, False): tuple(_criteria(public=False)),
    (False, True): tuple(_criteria(public=True)),
    (True, False): (),
    (True, True): tuple(_deleted_too(public=True)),
}


@event.listens_for(CasetrackSession, "do_orm_execute")
def _filter_by_viewer(state: ORMExecuteState) -> Any:
    if not state.is_select:
        return None
    viewer = viewer_of(state.session)
    options = OPTIONS[bool(state.execution_options.get(INCLUDE_DELETED)), not viewer.sees_restricted]
    if options:
        state.statement = state.statement.options(*options)
    if viewer.sees_restricted:
        if state.parameters is None:
            state.parameters = {}
        return state.invoke_statement(params={"show_restricted": True})
    return None

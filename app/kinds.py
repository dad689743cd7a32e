"""What the kernel knows of the kinds of record: only what the registry (app.resources) says of each, handed to
every session by the session factory (app.sessions.make_sessionmaker). The kernel imports no domain; it asks the
session's registry instead."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Select

from app.db import Record

KINDS = "kinds"  # the key of the registry in ``session.info``


class Kind(Protocol):
    """One kind of record, as the kernel sees it (app.resources.Resource is the one implementation)."""

    @property
    def path(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> type[Record]: ...

    @property
    def read(self) -> type[BaseModel]: ...

    @property
    def record_type(self) -> str: ...

    @property
    def searchable(self) -> bool: ...

    @property
    def inside_a_case(self) -> bool: ...

    @property
    def text(self) -> Callable[[Any], tuple[str, str]] | None: ...

    @property
    def referenced_by(self) -> Sequence[tuple[str, Callable[[str], Select[Any]]]]: ...


Registry = Mapping[str, Kind]  # by record type, in the registry's order


def registry_of(session: Any) -> Registry:
    """The kinds of record a session (async or not) was made to know."""
    registry: Registry | None = session.info.get(KINDS)
    if registry is None:
        raise RuntimeError("This session knows no kinds of record: make sessions with app.sessions.make_sessionmaker.")
    return registry

"""Who is asking: roles, and the viewer every request carries into its database session."""

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Role(IntEnum):
    """Each role includes the ones below it."""

    reader = 1  # reads restricted records, audit history of a record, the changes feed
    editor = 2  # writes
    admin = 3  # tokens, the whole audit log, restore and purge

    @classmethod
    def parse(cls, name: str) -> "Role":
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown role {name!r}; roles: {', '.join(r.name for r in cls)}") from None


@dataclass(frozen=True)
class Viewer:
    name: str | None  # the token's name; None for anonymous
    role: Role | None

    def has(self, role: Role) -> bool:
        return self.role is not None and self.role >= role

    @property
    def sees_restricted(self) -> bool:
        return self.has(Role.reader)


ANONYMOUS = Viewer(name=None, role=None)
SYSTEM = Viewer(name="system", role=Role.admin)  # the command line: demo, load, migrations


def viewer_of(session: Any) -> Viewer:
    """Who a session reads and writes for (set per request); nobody set is the anonymous public."""
    viewer: Viewer = session.info.get("viewer", ANONYMOUS)
    return viewer

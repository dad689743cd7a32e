import datetime as dt
from typing import Any, Literal

from pydantic import Field

from app.schemas import Output

Action = Literal["create", "update", "delete", "restore", "purge"]


class AuditEntryRead(Output):
    seq: int = Field(description="Position in commit order; the cursor of the changes feed.")
    at: dt.datetime
    actor: str | None = Field(description="Name of the token that made the change.")
    action: Action
    record_type: str
    record_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ChangesPage(Output):
    items: list[AuditEntryRead]
    next: str = Field(description="Pass as `since` to get what happens after these.")

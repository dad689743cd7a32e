"""The one way to make sessions: the factory, with the visibility filter installed on what it makes and the registry
of kinds of record (app.resources) handed to each session it makes (app.kinds.registry_of finds it)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app import visibility
from app.db import CasetrackSession
from app.kinds import KINDS
from app.resources import BY_TYPE


def make_sessionmaker(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[AsyncSession]:
    visibility.install(CasetrackSession)
    info = {KINDS: BY_TYPE, **options.pop("info", {})}
    return async_sessionmaker(
        bind, expire_on_commit=False, autoflush=False, sync_session_class=CasetrackSession, info=info, **options
    )

"""The one way to make sessions: the factory, with the visibility filter installed on what it makes."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app import visibility
from app.db import CasetrackSession


def make_sessionmaker(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[AsyncSession]:
    visibility.install(CasetrackSession)
    return async_sessionmaker(
        bind, expire_on_commit=False, autoflush=False, sync_session_class=CasetrackSession, **options
    )

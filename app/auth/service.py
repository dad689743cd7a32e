"""API tokens: created and revoked from the command line, checked on every request that sends one."""

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiToken
from app.auth.roles import Role, Viewer
from app.db import utcnow

TOKEN_PREFIX = "ct_"


def hash_secret(secret: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough (no dictionary to attack), and lookups stay one query.
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenError(ValueError):
    pass


async def create_token(session: AsyncSession, name: str, role: Role) -> str:
    """Store a new token and return its secret (the only time it is ever visible)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("a token name must be 1 to 100 characters")
    if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already (revoked ones keep their name)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role.name, secret_hash=hash_secret(secret)))
    await session.flush()
    return secret


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.name))).all())


async def revoke_token(session: AsyncSession, name: str) -> None:
    token = await session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise TokenError(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()


# Built once: every request with a token runs it, and building a statement costs more than its cached compile.
_ACTIVE_TOKEN = select(ApiToken.name, ApiToken.role).where(
    ApiToken.secret_hash == bindparam("secret_hash"), ApiToken.revoked_at.is_(None)
)


async def viewer_for(session: AsyncSession, secret: str) -> Viewer | None:
    """The viewer a secret stands for, or None when it is unknown or revoked."""
    row = (await session.execute(_ACTIVE_TOKEN, {"secret_hash": hash_secret(secret)})).first()
    return None if row is None else Viewer(name=row.name, role=Role[row.role])

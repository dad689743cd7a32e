"""`casetrack tokens ...`: API tokens are managed from the command line, never over the API."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from app.auth.roles import Role

T = TypeVar("T")

tokens = typer.Typer(
    help="Create, list and revoke API tokens. Roles: reader (sees restricted records), editor (also "
    "writes), admin (also the audit log, restore, purge).",
    no_args_is_help=True,
)


def _with_session(work: Callable[..., Awaitable[T]], writes: bool = False) -> T:
    """Run ``work`` in one transaction, committed if it succeeds; every failure is one sentence."""
    # Imported here, by the commands that use them: `casetrack --help` and the other commands need none.
    from app.auth import service
    from app.commands import run
    from app.commands import settings as _settings
    from app.db import IMMEDIATE, make_engine
    from app.migrate import upgrade_engine
    from app.sessions import make_sessionmaker

    settings = _settings()

    async def work_in_transaction() -> T:
        engine = make_engine(settings)
        try:
            await upgrade_engine(engine)
            async with make_sessionmaker(engine)() as session:
                if writes:
                    # As an API write does (app/db.py): on SQLite, take the write lock when the transaction
                    # begins, waiting for the service's writers, rather than fail on upgrading a read lock.
                    await session.connection(execution_options={IMMEDIATE: True})
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return run(work_in_transaction, expected=(service.TokenError,))


@tokens.command("create")
def create(
    name: str = typer.Option(..., "--name", help="A name for the token (a person or an app); shown in the audit log."),
    role: str = typer.Option(..., "--role", help="reader, editor or admin."),
) -> None:
    """Create a token and print it. It is shown only this once: store it safely."""
    from app.auth import service

    try:
        parsed = Role.parse(role)
    except ValueError as exc:
        typer.echo(f"casetrack: {exc}", err=True)
        raise typer.Exit(2) from None
    secret = _with_session(lambda session: service.create_token(session, name, parsed), writes=True)
    typer.echo(secret)


@tokens.command("list")
def list_() -> None:
    """List tokens: name, role, created, revoked. Secrets are never shown (only their hashes are stored)."""
    from app.auth import service

    rows = _with_session(service.list_tokens)
    if not rows:
        typer.echo("No tokens yet: create one with `casetrack tokens create --name NAME --role admin`.")
        return
    for token in rows:
        revoked = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        typer.echo(f"{token.name}\t{token.role}\tcreated {token.created_at:%Y-%m-%d %H:%M}\t{revoked}")


@tokens.command("revoke")
def revoke(name: str = typer.Argument(..., help="The token's name.")) -> None:
    """Revoke a token: it stops working at once. Its name stays taken, so the audit log stays clear."""
    from app.auth import service

    _with_session(lambda session: service.revoke_token(session, name), writes=True)
    typer.echo(f"casetrack: revoked the token {name!r}.")

"""The `casetrack` command: serve the API, migrate the database, load the demo case."""

import asyncio
import sys

import typer
from pydantic import ValidationError

from app.config import Settings

cli = typer.Typer(
    help="casetrack: an HTTP JSON API for documenting legal cases against people.\n\n"
    "The database comes from DATABASE_URL (default: sqlite:///casetrack.db in this directory).",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"casetrack: bad configuration: {problems}", err=True)
        raise typer.Exit(2) from None


async def _migrate_and_demo(settings: Settings, demo: bool) -> int:
    from app.db import make_engine, make_sessionmaker
    from app.demo import load_demo
    from app.migrate import upgrade_engine

    engine = make_engine(settings)
    try:
        await upgrade_engine(engine)
        if not demo:
            return 0
        async with make_sessionmaker(engine)() as session, session.begin():
            return await load_demo(session)
    finally:
        await engine.dispose()


def _run(coroutine_factory) -> int:  # noqa: ANN001
    try:
        return asyncio.run(coroutine_factory())
    except OSError as exc:
        typer.echo(f"casetrack: cannot reach the database: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (needed once per release on PostgreSQL; SQLite does it on start)."""
    settings = _settings()
    _run(lambda: _migrate_and_demo(settings, demo=False))
    typer.echo("casetrack: the database schema is up to date.")


@cli.command()
def demo() -> None:
    """Load the model case (Vladimir Kozlov refused parole) into the database. Safe to run twice."""
    settings = _settings()
    created = _run(lambda: _migrate_and_demo(settings, demo=True))
    if created:
        typer.echo(f"casetrack: loaded the demo case ({created} records).")
    else:
        typer.echo("casetrack: the demo case was already there; nothing changed.")


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes; each holds its own database pool."),
    with_demo: bool = typer.Option(False, "--demo", help="Load the demo case first (if not loaded yet)."),
) -> None:
    """Run the HTTP API (docs at /docs, schema at /openapi.json)."""
    import uvicorn

    settings = _settings()
    if with_demo or settings.migrate_on_start:
        _run(lambda: _migrate_and_demo(settings, demo=with_demo))
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


def main() -> None:
    cli(prog_name="casetrack")


if __name__ == "__main__":
    sys.exit(main())

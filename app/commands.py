"""What every `casetrack` command shares: its settings, and database work that fails in one sentence."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from app.config import Settings

T = TypeVar("T")


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"casetrack: bad configuration: {problems}", err=True)
        raise typer.Exit(2) from None


def run(coroutine_factory: Callable[[], Coroutine[Any, Any, T]], expected: tuple[type[Exception], ...] = ()) -> T:
    """Run database work; a failure is one sentence on stderr and exit code 1, never a traceback.
    The message of an ``expected`` error is that sentence as it is."""
    try:
        return asyncio.run(coroutine_factory())
    except expected as exc:
        typer.echo(f"casetrack: {exc}", err=True)
        raise typer.Exit(1) from None
    except (OSError, DBAPIError) as exc:
        reason = getattr(exc, "orig", None) or exc
        typer.echo(f"casetrack: cannot use the database: {str(reason).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("casetrack: interrupted; nothing was committed.", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001  a command line answers with a sentence, not a traceback
        typer.echo(f"casetrack: failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", err=True)
        raise typer.Exit(1) from None

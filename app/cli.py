"""The `casetrack` command: serve the API, migrate the database, load the demo case, dump and load data."""

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, NoReturn, TypeVar

import typer

from app.auth.cli import tokens
from app.commands import run as _run
from app.commands import settings as _settings
from app.config import Settings
from app.progress import Meter, track

T = TypeVar("T")

cli = typer.Typer(
    help="casetrack: an HTTP JSON API for documenting legal cases against people.\n\n"
    "The database comes from DATABASE_URL (default: sqlite:///casetrack.db in this directory).",
    no_args_is_help=True,
    add_completion=False,
)


async def _migrate_and_demo(settings: Settings, demo: bool, report: bool = False, progress: bool = True) -> int:
    from app.db import make_engine
    from app.demo import load_demo
    from app.migrate import upgrade_engine
    from app.sessions import make_sessionmaker

    engine = make_engine(settings)
    try:
        meter = Meter("Migrating", unit="revisions") if progress else contextlib.nullcontext(None)
        with meter:

            def applied(step: str) -> None:
                if report:
                    typer.echo(f"casetrack: applied {step}", err=True)
                if isinstance(meter, Meter):
                    meter.advance()

            await upgrade_engine(engine, on_step=applied)
        if not demo:
            return 0
        async with make_sessionmaker(engine)() as session, session.begin():
            return await load_demo(session)
    finally:
        await engine.dispose()


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (needed once per release on PostgreSQL; SQLite does it on start)."""
    settings = _settings()
    _run(lambda: _migrate_and_demo(settings, demo=False, report=True))
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
    port: int = typer.Option(8000, help="Port to listen on (0: any free port; the line printed names it)."),
    workers: int = typer.Option(1, min=1, help="Worker processes; each holds its own database pool."),
    with_demo: bool = typer.Option(False, "--demo", help="Load the demo case first (if not loaded yet)."),
) -> None:
    """Run the HTTP API (docs at /docs, schema at /openapi.json).

    Prints one plain line on standard output (where it serves, what it loaded, which database); the log
    is JSON lines on standard error."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.demo import CASE
    from app.observability import configure_logging

    settings = _settings()
    # The log is JSON lines from here on, in this process too (with several workers, it is their supervisor).
    configure_logging(settings.log_level)
    # Logging is ours (JSON lines with request ids, set up by create_app); uvicorn's access log would repeat it.
    config = uvicorn.Config(
        "app.main:create_server_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )
    sock = _listen(host, port, config.backlog)  # first: a port in use stops the command before any database work
    loaded = ""
    if with_demo or settings.migrate_on_start:
        created = _run(lambda: _migrate_and_demo(settings, demo=with_demo, progress=False))
        if with_demo:
            loaded = f" (demo case {'loaded' if created else 'already there'}: {CASE['title']})"
    line = f"casetrack: serving {_url_to_open(host, sock.getsockname()[1])}{loaded} — database {_database(settings)}"
    typer.echo(line + (f" — {workers} worker processes" if workers > 1 else ""))
    sys.stdout.flush()
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server = uvicorn.Server(config)
            server.run(sockets=[sock])
            if not server.started:
                raise typer.Exit(1)  # the app did not start: the log says why
    except KeyboardInterrupt:
        pass


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    """The listening socket, bound and listening before the line that names it is printed (a request
    made at once waits for the workers instead of being refused); shared by every worker process."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
    sock.set_inheritable(True)
    return sock


def _url_to_open(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):
        return f"http://127.0.0.1:{port}/ (every interface)"
    if host == "::":
        return f"http://[::1]:{port}/ (every interface)"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _database(settings: Settings) -> str:
    """The database URL without its password; a SQLite path made absolute."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if settings.is_sqlite and url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=True)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"casetrack: {message}", err=True)
    raise typer.Exit(code)


class _Interrupted(Exception):
    """Ctrl-C during a dump or load, acted on between two database round trips."""


# Set by the first Ctrl-C; the dump's writes and the load's reads check it. Cancelling a task in the
# middle of an asyncpg executemany leaves the connection waiting forever, so the first Ctrl-C only asks.
_interrupt = threading.Event()


def _check_interrupt() -> None:
    if _interrupt.is_set():
        raise _Interrupted


async def _interruptible(coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    loop, task = asyncio.get_running_loop(), asyncio.current_task()

    def on_interrupt() -> None:
        if _interrupt.is_set() and task is not None:
            task.cancel()  # a second Ctrl-C: stop now
        _interrupt.set()

    # Not on Windows: there Ctrl-C cancels at once, as in the other commands.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        return await coroutine_factory()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def _transfer(coroutine_factory: Callable[[], Awaitable[T]], action: str, interrupted: str) -> T:
    """Run a dump or a load; every failure becomes one sentence on stderr and an exit code, never a traceback.

    Exit 1: the input or the data is wrong (a bad dump, a database that is not empty or not migrated).
    Exit 2: the configuration is (the database cannot be reached or opened). Exit 130: Ctrl-C.
    """
    from sqlalchemy.exc import DBAPIError

    from app.transfer import TransferError, database_message

    try:
        return asyncio.run(_interruptible(coroutine_factory))
    except TransferError as exc:
        _fail(f"{action}: {exc}", 1)
    except BrokenPipeError:
        raise  # the dump's reader went away: the caller says so
    except OSError as exc:
        _fail(f"cannot reach the database: {exc}", 2)
    except DBAPIError as exc:
        if exc.statement is None:  # raised while connecting: wrong database name, user or password
            _fail(f"cannot reach the database: {database_message(exc)}", 2)
        _fail(f"{action}: the database refused: {database_message(exc)}", 1)
    except (_Interrupted, KeyboardInterrupt, asyncio.CancelledError):
        _fail(f"{action}: interrupted; {interrupted}", 130)


def _check_sqlite_path(settings: Settings, must_exist: bool) -> None:
    """Catch a mistyped SQLite path here: opening it would create an empty file, or fail with a traceback."""
    from sqlalchemy.engine import make_url

    if not settings.is_sqlite:
        return
    database = make_url(settings.database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if must_exist and not path.is_file():
        _fail(f"there is no SQLite database at {path} (check DATABASE_URL)", 2)
    if not path.parent.is_dir():
        _fail(f"there is no directory {path.parent} for the SQLite database (check DATABASE_URL)", 2)


class _Output:
    """The dump's destination; a failed write becomes a one-sentence error instead of a traceback."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.stream, self.name = stream, name

    def write(self, text: str) -> int:
        from app.transfer import TransferError

        _check_interrupt()
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise TransferError(f"cannot write {self.name}: {exc.strerror or exc}") from None

    def flush(self) -> None:
        self.stream.flush()


async def _dump(settings: Settings, out: _Output) -> dict[str, int]:
    from app.db import make_engine
    from app.transfer import dump

    engine = make_engine(settings)
    try:
        counts = await dump(engine, out)
        out.flush()
        return counts
    finally:
        await engine.dispose()


DUMP_HELP = (
    "Write the whole database as NDJSON (to standard output unless --output), for backups and moves.\n\n"
    "One header line (format, schema revision), then one line per row, parent tables first and rows in id order, "
    "then a closing line with every table's row count; the same data gives the same lines on SQLite and "
    "PostgreSQL. The dump is one consistent snapshot; the database is only read, and must be migrated "
    "(`casetrack migrate`). Read it back with `casetrack load FILE`.\n\n"
    "Example: DATABASE_URL=sqlite:///casetrack.db casetrack dump > backup.ndjson"
)

LOAD_HELP = (
    "Load a dump into an empty database, all of it in one transaction or nothing at all.\n\n"
    "Migrates the database first (creating a new SQLite file if needed), then refuses a database that already "
    "holds any record and a dump written at another schema revision. A malformed line, an unknown table or "
    "column, a record the API would refuse (each is checked with the API's own rules: an unknown kind, a bad "
    "EDTF date, text too long...) or a row the database refuses stops the load, names the line and the field, "
    "and leaves the database as it was.\n\n"
    "Example: DATABASE_URL=postgresql://casetrack@localhost/casetrack casetrack load backup.ndjson"
)


@cli.command("dump", help=DUMP_HELP)
def dump_command(
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        dir_okay=False,
        help="Write the dump to this file instead of standard output. The file appears (or is replaced) "
        "only once the dump is complete, readable by its owner only.",
    ),
) -> None:
    settings = _settings()
    _check_sqlite_path(settings, must_exist=True)
    if output is None:
        try:
            counts = _transfer(
                lambda: _dump(settings, _Output(sys.stdout, "standard output")),
                "cannot dump",
                "the output is incomplete (it lacks the closing line, so `casetrack load` refuses it)",
            )
        except BrokenPipeError:
            # The reader went away (`casetrack dump | head`); keep Python from complaining again at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            _fail("cannot dump: standard output was closed before the dump was complete", 1)
    else:
        try:
            partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept open across the dump, closed below)
                "w",
                encoding="utf-8",
                newline="\n",
                dir=output.parent,
                prefix=f".{output.name}.",
                suffix=".partial",
                delete=False,
            )
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}", 1)
        try:
            with partial:
                counts = _transfer(
                    lambda: _dump(settings, _Output(partial, str(output))),
                    "cannot dump",
                    f"{output} was not written",
                )
            os.replace(partial.name, output)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}", 1)
        finally:
            Path(partial.name).unlink(missing_ok=True)
    typer.echo(f"casetrack: dumped {sum(counts.values())} rows from {len(counts)} tables.", err=True)


def _lines(handle: IO[bytes], name: str) -> Iterator[str]:
    """The file's lines, decoded one by one so that a line that is not UTF-8 is reported by its number."""
    from app.transfer import TransferError

    try:
        for raw in handle:
            _check_interrupt()
            yield raw.decode("utf-8")
    except OSError as exc:
        raise TransferError(f"cannot read {name}: {exc.strerror or exc}") from None


async def _load(settings: Settings, lines: Iterator[str]) -> dict[str, int]:
    from app.db import make_engine
    from app.migrate import upgrade_engine
    from app.transfer import TransferError, load, read_header

    try:
        first = next(lines, None)
    except UnicodeDecodeError:
        raise TransferError("line 1 is not UTF-8 text") from None
    if first is None:
        raise TransferError("the dump is empty (no header line)")
    read_header(first)  # refuse a file that is not a dump before touching (or creating) the database
    engine = make_engine(settings)
    try:
        await upgrade_engine(engine)
        return await load(engine, track(itertools.chain([first], lines), "Loading the dump", unit="lines"))
    finally:
        await engine.dispose()


@cli.command("load", help=LOAD_HELP)
def load_command(
    file: str = typer.Argument(..., metavar="FILE", help="A dump written by `casetrack dump`; - reads standard input."),
) -> None:
    settings = _settings()
    _check_sqlite_path(settings, must_exist=False)
    name = "standard input" if file == "-" else file
    try:
        handle = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}", 1)
    try:
        counts = _transfer(
            lambda: _load(settings, _lines(handle, name)),
            f"cannot load {name}",
            "nothing was loaded",
        )
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    typer.echo(f"casetrack: loaded {sum(counts.values())} rows into {len(counts)} tables from {name}.")


cli.add_typer(tokens, name="tokens")


def main() -> None:
    cli(prog_name="casetrack")


if __name__ == "__main__":
    main()

"""CPU the app spends per in-process request (what the test suite pays ~40,000 times).

    .venv/bin/python -m bench.request_cpu [--database sqlite|postgresql|both] [--rounds 30] [--runs 10] [--profile FILE]
        [--statements]

Builds the app on a new, migrated database made as the test suite makes them (tests/databases.py: an SQLite
file in a temporary folder, or a PostgreSQL database beside CASETRACK_TEST_POSTGRES_URL, dropped afterwards),
on uvloop (as the service and the suite run), warms up, then times ``time.process_time()`` over rounds of a
fixed mix of six requests through httpx's ASGITransport: POST person, GET person, POST participant, GET case,
GET people list, PATCH person. Prints the CPU milliseconds per request (the fastest of a few runs, as other
processes only ever add to it). ``--profile`` writes a cProfile of one more, untimed run; ``--statements``
counts the SQL statements each request of the mix sends."""

import argparse
import cProfile
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy import event

from app.auth.roles import Role
from app.config import Settings
from app.main import create_app
from tests.databases import add_token, migrated_database

API = "/api/v1"
MIX = ("POST person", "GET person", "POST participant", "GET case", "GET people", "PATCH person")


async def _round(client: httpx.AsyncClient, case_id: str, n: int) -> None:
    person = await client.post(f"{API}/people", json={"name": f"Person {n}", "birth_date": "1970"})
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    got = await client.get(f"{API}/people/{person_id}")
    assert got.status_code == 200, got.text
    participant = await client.post(
        f"{API}/cases/{case_id}/participants", json={"person_id": person_id, "role": "defendant"}
    )
    assert participant.status_code == 201, participant.text
    case = await client.get(f"{API}/cases/{case_id}")
    assert case.status_code == 200, case.text
    people = await client.get(f"{API}/people", params={"limit": 20})
    assert people.status_code == 200, people.text
    patched = await client.patch(f"{API}/people/{person_id}", json={"description": f"note {n}"})
    assert patched.status_code == 200, patched.text


async def measure(url: str, rounds: int, runs: int, profile: str | None, statements: bool) -> list[float]:
    settings = Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")
    token = await add_token(settings, "bench", Role.admin)
    app = create_app(settings)
    results = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            case = await client.post(f"{API}/cases", json={"title": "Bench case"})
            assert case.status_code == 201, case.text
            case_id = case.json()["id"]
            for n in range(30):  # warm up: statement caches, pools, lazy imports
                await _round(client, case_id, n)
            if statements:
                await _count_statements(app, client, case_id)
            for run in range(runs):
                profiler = cProfile.Profile() if profile and run == 0 else None
                started = time.process_time()
                if profiler:
                    profiler.enable()
                for n in range(rounds):
                    await _round(client, case_id, 1000 * (run + 1) + n)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(profile)  # type: ignore[arg-type]
                    continue  # profiled run: not timed
                results.append((time.process_time() - started) * 1000 / (rounds * len(MIX)))
    return results


async def _count_statements(app: Any, client: httpx.AsyncClient, case_id: str) -> None:
    counts: Counter[str] = Counter()
    current = ["?"]
    sync_engine = app.state.engine.sync_engine

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        counts[current[0]] += 1
        if os.environ.get("BENCH_SHOW_SQL"):
            print(f"    {current[0]}: {' '.join(statement.split())[:150]}", file=sys.__stdout__)

    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        original_send = client._transport.handle_async_request

        async def labelled(request: httpx.Request) -> httpx.Response:
            current[0] = f"{request.method} {request.url.path}"
            return await original_send(request)

        client._transport.handle_async_request = labelled  # type: ignore[method-assign]
        await _round(client, case_id, 999_999)
        client._transport.handle_async_request = original_send  # type: ignore[method-assign]
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    for label, number in counts.items():
        print(f"  statements {number:3d}  {label}", file=sys.__stdout__)


async def run(kind: str, rounds: int, runs: int, profile: str | None, statements: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        async with migrated_database(kind, Path(directory)) as url:
            return await measure(url, rounds, runs, profile, statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of the six-request mix per timed run")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--profile", help="write a cProfile of one extra (untimed) run to this file")
    parser.add_argument("--statements", action="store_true", help="count SQL statements per request")
    parser.add_argument("--keep-log", action="store_true", help="leave the JSON access log on stderr")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own line per request, as in the suite
    if not args.keep_log:
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the access log is still formatted and written
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        profile = f"{args.profile}.{kind}" if args.profile else None
        # On uvloop, as the service runs under `casetrack serve` and the test suite runs (tests/conftest.py).
        results = uvloop.run(run(kind, args.rounds, args.runs, profile, args.statements))
        runs = " ".join(f"{r:.2f}" for r in results)
        print(
            f"{kind}: {min(results):.2f} ms CPU per request (fastest run; median {statistics.median(results):.2f}; "
            f"runs: {runs})",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""`python -m bench run`: the service and the baseline side by side on loopback, driven by wrk.

For each database given: pick ids from the data (random cases, the median and the heaviest case by
timeline size, events to update, names to search), create an editor token, start the service
(``casetrack serve``, one process) and the baseline (bench/baseline.py under the same uvicorn), check
that both give the same answers, then drive each endpoint with wrk (warm-up, then a bounded run)
alternately on the service and the baseline, measure the streamed CSV export and ``casetrack dump``
with their peak memory, and print one table plus the targets. Ratios are service / baseline from the
same run: absolute figures drift between runs on shared machines.
"""

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INCLUDE_ALL = "participants,charges,sentences,hearings,outcomes,events,sources,timeline"
PAGE = 50
DEEP_PAGES = 1_000
SLOW_MS = 500  # an endpoint whose single request takes longer is driven with 2 connections, for longer
SLOW_RUN_CAP = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        action="append",
        required=True,
        help="A database filled by `bench generate` (repeat for several: e.g. one SQLite, one PostgreSQL).",
    )
    parser.add_argument("--duration", type=float, default=10, help="Seconds of each measured wrk run (default 10).")
    parser.add_argument("--warmup", type=float, default=3, help="Seconds of warm-up before each run (default 3).")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2).")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16).")
    parser.add_argument(
        "--endpoints", help="Comma-separated subset of: " + ", ".join(e for e in ENDPOINT_KEYS) + " (default: all)."
    )
    parser.add_argument("--skip-export", action="store_true", help="Do not measure the CSV export and the dump.")
    parser.add_argument(
        "--import-report",
        action="append",
        default=[],
        help="JSON written by `bench generate --report`: its import rate joins the results of its database.",
    )
    parser.add_argument("--json", dest="json_path", help="Also write every figure to this JSON file.")
    parser.add_argument("--logs", help="Keep the servers' logs and wrk scripts in this directory (default: discarded).")
    parser.add_argument("--port", type=int, default=0, help="First port to use (default: free ports).")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="Sample the service with py-spy during each measured run (py-spy must be installed: "
        "`pip install py-spy`, not a project dependency): the thread holding the GIL, 200 times a second, "
        "so the samples say where the process's Python time goes. Raw stacks and a summary per endpoint go "
        "to DIR.",
    )
    parser.add_argument("--seed", type=int, default=1, help="Seed for the choice of ids.")


ENDPOINT_KEYS = (
    "case",
    "case_all",
    "timeline_median",
    "timeline_heaviest",
    "timeline_heaviest_page",
    "list_first",
    "list_deep",
    "outcomes",
    "search",
    "create",
    "update",
)


# --- the machine and the software -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    versions = {"python": platform.python_version()}
    from importlib.metadata import PackageNotFoundError, version

    for name in (
        "fastapi",
        "starlette",
        "sqlalchemy",
        "pydantic",
        "uvicorn",
        "asyncpg",
        "aiosqlite",
        "uvloop",
        "httptools",
    ):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "-"
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    versions["wrk"] = (wrk.stdout or wrk.stderr).split("[")[0].strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "app"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(total_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "versions": versions,
        "commit": commit.stdout.strip() + (" (app/ has uncommitted changes)" if dirty.stdout.strip() else ""),
    }


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- what to ask for: ids from the data -------------------------------------------------------------


@dataclass
class Sample:
    backend: str
    server_version: str
    cases: list[str]
    median_cases: list[str]
    median_items: int
    heaviest_case: str
    heaviest_items: int
    events_total: int
    event_ids: list[str]
    search_terms: list[str]
    outcome_filters: list[tuple[str, str]]
    person_id: str
    source_id: str
    token: str = ""


async def _sample(database_url: str, seed: int) -> Sample:
    from sqlalchemy import text

    from app.auth.roles import Role
    from app.auth.service import create_token
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker

    rng = random.Random(seed)
    engine = make_engine(Settings(database_url=database_url))
    try:
        async with engine.connect() as conn:
            backend = conn.dialect.name
            version_sql = "SELECT version()" if backend == "postgresql" else "SELECT 'SQLite ' || sqlite_version()"
            server_version = (await conn.execute(text(version_sql))).scalar_one().split(" on ")[0]
            visible = "deleted_at IS NULL AND restricted = false"
            cases = [r[0] for r in await conn.execute(text(f"SELECT id FROM cases WHERE {visible} ORDER BY id"))]
            if not cases:
                raise SystemExit(f"bench run: {database_url} holds no cases; fill it with `python -m bench generate`")
            sizes = dict.fromkeys(cases, 0)
            for table, column in (
                ("events", "date_earliest"),
                ("hearings", "date_earliest"),
                ("outcomes", "date_earliest"),
                ("charges", "date_earliest"),
                ("sentences", "start_date_earliest"),
                ("participants", "since"),
                ("participants", "until"),
            ):
                query = (
                    f"SELECT case_id, count(*) FROM {table} WHERE {column} IS NOT NULL AND {visible} GROUP BY case_id"
                )
                for case_id, count in await conn.execute(text(query)):
                    if case_id in sizes:
                        sizes[case_id] += count
            by_size = sorted(cases, key=lambda c: (sizes[c], c))
            middle = len(by_size) // 2
            median_cases = by_size[max(0, middle - 20) : middle + 20]
            heaviest = by_size[-1]
            events_total = (await conn.execute(text(f"SELECT count(*) FROM events WHERE {visible}"))).scalar_one()
            picked_cases = rng.sample(cases, min(len(cases), 1000))
            some = rng.sample(cases, min(len(cases), 200))
            event_ids = []
            for start in range(0, len(some), 50):
                ids = ", ".join(f"'{c}'" for c in some[start : start + 50])
                rows = await conn.execute(text(f"SELECT id FROM events WHERE case_id IN ({ids}) AND {visible}"))
                event_ids += [r[0] for r in rows]
            rng.shuffle(event_ids)
            event_ids = event_ids[:4000]
            names = [
                r[0]
                for r in await conn.execute(text(f"SELECT name FROM people WHERE {visible} ORDER BY id LIMIT 2000"))
            ]
            terms = sorted({name.split()[-1][:5].lower() for name in names if len(name.split()[-1]) >= 3})
            rng.shuffle(terms)
            filters = [
                (kind, country)
                for kind, country, _ in await conn.execute(
                    text(
                        "SELECT o.kind, c.country, count(*) FROM outcomes o JOIN cases c ON c.id = o.case_id "
                        "WHERE c.country IS NOT NULL GROUP BY o.kind, c.country ORDER BY 3 DESC, 1, 2 LIMIT 40"
                    )
                )
            ]
            person_id = (await conn.execute(text(f"SELECT min(id) FROM people WHERE {visible}"))).scalar_one()
            source_id = (await conn.execute(text(f"SELECT min(id) FROM sources WHERE {visible}"))).scalar_one()
        async with make_sessionmaker(engine)() as session, session.begin():
            token = await create_token(session, f"bench-{int(time.time() * 1000)}", Role.editor)
    finally:
        await engine.dispose()
    return Sample(
        backend=backend,
        server_version=server_version,
        cases=picked_cases,
        median_cases=median_cases,
        median_items=sizes[by_size[middle]],
        heaviest_case=heaviest,
        heaviest_items=sizes[heaviest],
        events_total=events_total,
        event_ids=event_ids,
        search_terms=terms[:200],
        outcome_filters=filters,
        person_id=person_id,
        source_id=source_id,
        token=token,
    )


async def _versions(database_url: str, event_ids: list[str]) -> dict[str, int]:
    from sqlalchemy import text

    from app.config import Settings
    from app.db import make_engine

    engine = make_engine(Settings(database_url=database_url))
    found: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            for start in range(0, len(event_ids), 500):
                ids = ", ".join(f"'{i}'" for i in event_ids[start : start + 500])
                found.update(
                    {
                        r[0]: r[1]
                        for r in await conn.execute(text(f"SELECT id, version FROM events WHERE id IN ({ids})"))
                    }
                )
    finally:
        await engine.dispose()
    return found


# --- the two servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(name: str, command: list[str], env: dict[str, str], port: int, workdir: Path) -> Server:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench run: the {name} exited at start; see {log}:\n{log.read_text()[-2000:]}")
        try:
            status, _, _ = get(server, "/healthz", timeout=2)
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"bench run: the {name} did not answer /healthz within 90 s; see {log}")


def start_servers(database_url: str, first_port: int, workdir: Path) -> tuple[Server, Server]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CASETRACK_RATE_LIMIT_PER_ADDRESS": "",
        "CASETRACK_RATE_LIMIT_PER_TOKEN": "",
        "CASETRACK_AUTO_MIGRATE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    ports = (first_port, first_port + 1) if first_port else (free_port(), free_port())
    # The service exactly as deployed (its JSON access log included, written to a file), one process.
    service = start_server(
        "service",
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(ports[0]), "--workers", "1"],
        env,
        ports[0],
        workdir,
    )
    baseline_env = {**env, "BENCH_DATABASE_URL": database_url}
    try:
        baseline = start_server(
            "baseline",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[1]),
                "--log-level",
                "warning",
                "--no-access-log",
            ],  # fmt: skip
            baseline_env,
            ports[1],
            workdir,
        )
    except BaseException:
        service.stop()
        raise
    return service, baseline


def get(
    server: Server, path: str, timeout: float = 120, headers: dict[str, str] | None = None
) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def request(server: Server, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, dict, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        raw = response.read()
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else None
    finally:
        conn.close()


def timeline_pages(server: Server) -> bool:
    """Whether the service's timeline takes `limit` (one page) or always answers the whole timeline."""
    status, _, body = get(server, "/openapi.json")
    if status != 200:
        return False
    spec = json.loads(body)
    operation = spec["paths"].get("/api/v1/cases/{case_id}/timeline", {}).get("get", {})
    return any(p.get("name") == "limit" and p.get("in") == "query" for p in operation.get("parameters", []))


def deep_cursor(server: Server, pages: int) -> tuple[str | None, int]:
    """The cursor of page ``pages`` of /events (50 a page), walked 500 at a time: (cursor, page reached)."""
    cursor, rows, wanted = None, 0, (pages - 1) * PAGE
    while rows < wanted:
        size = 500 if wanted - rows >= 500 else PAGE
        query = {"limit": size, **({"cursor": cursor} if cursor else {})}
        status, _, body = get(server, "/api/v1/events?" + urllib.parse.urlencode(query))
        if status != 200:
            raise SystemExit(f"bench run: walking /events on the {server.name} failed with {status}: {body[:300]!r}")
        page = json.loads(body)
        if page["next"] is None:
            break
        cursor, rows = page["next"], rows + len(page["items"])
    return cursor, rows // PAGE + 1


# --- wrk --------------------------------------------------------------------------------------------

LUA_COMMON = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function done(summary, latency, requests)
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"p50":%.0f,"p90":%.0f,"p99":%.0f,"mean":%.1f,"max":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_get(paths: list[str]) -> str:
    return (
        LUA_COMMON
        + f"""
local paths = {_lua_list(paths)}
function init(args) math.randomseed(7919 * (tid + 1)) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
"""
    )


def lua_create(paths: list[str], token: str, person_id: str, source_id: str) -> str:
    return (
        LUA_COMMON
        + f"""
local paths = {_lua_list(paths)}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
local n = 0
function init(args) math.randomseed(7919 * (tid + 1)) end
function request()
  n = n + 1
  local body = string.format('{{"kind":"statement","date":"2021-%02d-%02d","title":"Benchmark statement %d-%d",' ..
    '"description":"Written by the benchmark runner.","person_ids":["{person_id}"],"source_ids":["{source_id}"]}}',
    n % 12 + 1, n % 28 + 1, tid, n)
  return wrk.format("POST", paths[math.random(#paths)], headers, body)
end
"""
    )


def lua_update(versions: dict[str, int], token: str, threads: int) -> str:
    ids = list(versions)
    return (
        LUA_COMMON
        + f"""
local ids = {_lua_list(ids)}
local versions = {{{",".join(str(versions[i]) for i in ids)}}}
local mine, index, k, n = {{}}, {{}}, 0, 0
function init(args)
  for i = 1, #ids do
    if (i - 1) % {threads} == tid then table.insert(mine, i) end
    index[ids[i]] = i
  end
end
function request()
  k = k % #mine + 1
  n = n + 1
  local i = mine[k]
  local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}",
                   ["If-Match"] = '"' .. versions[i] .. '"'}}
  return wrk.format("PATCH", "/api/v1/events/" .. ids[i], headers,
                    '{{"title":"Updated by the benchmark ' .. tid .. '-' .. n .. '"}}')
end
function response(status, headers, body)
  if status == 200 then
    local id, version = body:match('"id":"(%x+)"'), body:match('"version":(%d+)')
    if id and version and index[id] then versions[index[id]] = tonumber(version) end
  end
end
"""
    )


@dataclass
class Result:
    requests_per_second: float  # successful (2xx/3xx) answers only
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    bytes_per_request: float
    cpu_ms_per_request: float  # the server process's own CPU (user + system) per answer: robust to a busy machine

    @property
    def usable(self) -> bool:
        return self.requests - self.errors > 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_connections(port: int) -> int:
    """TCP connections to this local port that are not closed yet (a request still being answered keeps
    its connection, in CLOSE_WAIT once wrk has gone)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if int(local.rsplit(":", 1)[1], 16) == port and state != "0A":  # 0A: listening
                        count += 1
        except OSError:
            continue
    return count


def wait_idle(servers: list[Server], limit: float = 900) -> None:
    """Wait until the servers have finished what an earlier run left them (uvicorn finishes a request
    whose client went away), so one endpoint's backlog does not slow the next one down."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = [cpu_seconds(s.pid) for s in servers]
        time.sleep(0.5)
        busy = any(cpu_seconds(s.pid) - b > 0.05 for s, b in zip(servers, before, strict=True))  # >10% of a core
        if not busy and not any(open_connections(s.port) for s in servers):
            return


def wrk(
    server: Server,
    script: Any,
    seconds: float,
    args: argparse.Namespace,
    workdir: Path,
    connections: int | None = None,
    peers: list[Server] | None = None,
    profile: Path | None = None,
) -> Result:
    """One wrk run, once every server of ``peers`` (default: this one) has nothing left to do. ``script``
    makes the Lua text then (an update run needs the versions as they are after the earlier runs)."""
    peers = peers or [server]
    wait_idle(peers)
    path = workdir / "script.lua"
    path.write_text(script(server))
    connections = connections or args.connections
    threads = min(args.threads, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "120s",
        "-s", str(path), server.url(),
    ]  # fmt: skip
    cpu_before = cpu_seconds(server.pid)
    spy = None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(
            [py_spy(), "record", "-p", str(server.pid), "-f", "raw", "-r", "200", "-o", str(profile),
             "-d", str(max(1, round(seconds))), "--nonblocking", "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    if spy is not None:
        spy.wait(timeout=60)
        if profile.exists():
            profile.with_suffix(".txt").write_text(summarize_profile(profile))
    # The requests in flight when wrk stops are still answered: their CPU counts, and so do they (one a
    # connection, at most).
    wait_idle([server])
    cpu = cpu_seconds(server.pid) - cpu_before
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"bench run: wrk failed on the {server.name}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[6:])
    errors = sum(raw[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    requests = raw["requests"]
    good = max(0, requests - raw["status_errors"])
    return Result(
        requests_per_second=good / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50"] / 1000,
        p99_ms=raw["p99"] / 1000,
        requests=requests,
        errors=errors,
        bytes_per_request=raw["bytes"] / requests if requests else 0,
        cpu_ms_per_request=cpu * 1000 / (requests + connections) if requests else 0,
    )


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("bench run: --profile needs py-spy (pip install py-spy)")
    return found


def summarize_profile(path: Path, top: int = 40) -> str:
    """Where the samples of a py-spy raw file fall: by function (inclusive and self) and by package."""
    import collections
    import re

    frame = re.compile(r"(.*) \((.*):(\d+)\)$")
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total = 0

    def name(text: str) -> tuple[str, str]:
        match = frame.match(text.strip())
        if not match:
            return text.strip()[:80], "other"
        function, filename = match.group(1), match.group(2)
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        package = short.split("/")[0] if "/" in short else short
        if "/lib/python3" in short:
            package = "stdlib:" + short.rsplit("/lib/python3", 1)[1].split("/", 1)[1].split("/")[0]
        return f"{function} [{short}]", package

    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [name(f) for f in stack.split(";")[1:]]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for label in {f[0] for f in frames}:
            inclusive[label] += count
        own[frames[-1][0]] += count
        packages[frames[-1][1]] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{n / total:6.1%}  {k}" for k, n in inclusive.most_common(top)]
    lines += ["", "self:"] + [f"{n / total:6.1%}  {k}" for k, n in own.most_common(top // 2)]
    lines += ["", "self, by package:"] + [f"{n / total:6.1%}  {k}" for k, n in packages.most_common(20)]
    return "\n".join(lines) + "\n"


# --- the endpoints ----------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    paths: Any = None  # GET endpoints: (server) -> the paths wrk picks from at random
    script: Any = None  # other endpoints: (server) -> Lua text, made right before each run
    connections: int | None = None  # fewer for answers that take seconds each (default: --connections)

    def lua(self, server: Server) -> str:
        return lua_get(self.paths(server)) if self.paths is not None else self.script(server)


def endpoints(
    sample: Sample, service: Server, baseline: Server, args: argparse.Namespace, database_url: str
) -> list[Endpoint]:
    cases = sample.cases
    half = max(1, len(sample.event_ids) // 2)
    halves = (sample.event_ids[:half], sample.event_ids[half:] or sample.event_ids[:half])
    found: list[Endpoint] = [
        Endpoint("case", "case by id", paths=lambda s: [f"/api/v1/cases/{c}" for c in cases]),
        Endpoint(
            "case_all",
            "case, everything included",
            paths=lambda s: [f"/api/v1/cases/{c}?include={INCLUDE_ALL}" for c in cases],
        ),
        Endpoint(
            "timeline_median",
            f"timeline, median case ({sample.median_items} items)",
            paths=lambda s: [f"/api/v1/cases/{c}/timeline" for c in sample.median_cases],
        ),
        Endpoint(
            "timeline_heaviest",
            f"timeline, heaviest case, whole ({sample.heaviest_items:,} items)",
            paths=lambda s: [f"/api/v1/cases/{sample.heaviest_case}/timeline"],
            connections=2,
        ),
    ]
    if timeline_pages(service):
        found.append(
            Endpoint(
                "timeline_heaviest_page",
                f"timeline, heaviest case, first page ({PAGE})",
                paths=lambda s: [f"/api/v1/cases/{sample.heaviest_case}/timeline?limit={PAGE}"],
            )
        )
    found.append(
        Endpoint("list_first", f"events list, first page ({PAGE})", paths=lambda s: [f"/api/v1/events?limit={PAGE}"])
    )
    cursor, depth = deep_cursor(baseline, DEEP_PAGES)
    deep = f"/api/v1/events?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
    service_deep = deep
    if not _same_json(get(service, deep)[2], get(baseline, deep)[2]):
        # The service's cursors are not the baseline's: walk the service itself.
        service_cursor, _ = deep_cursor(service, depth)
        service_deep = f"/api/v1/events?limit={PAGE}" + (f"&cursor={service_cursor}" if service_cursor else "")
    found += [
        Endpoint(
            "list_deep",
            f"events list, page {depth:,} ({PAGE})",
            paths=lambda s: [service_deep if s is service else deep],
        ),
        Endpoint(
            "outcomes",
            "outcomes by kind and country",
            paths=lambda s: [f"/api/v1/outcomes?kind={k}&country={c}" for k, c in sample.outcome_filters],
        ),
        Endpoint(
            "search", "people search (q=)", paths=lambda s: [f"/api/v1/people?q={t}" for t in sample.search_terms]
        ),
        Endpoint(
            "create",
            "create an event (POST)",
            script=lambda s: lua_create(
                [f"/api/v1/cases/{c}/events" for c in cases], sample.token, sample.person_id, sample.source_id
            ),
        ),
        Endpoint(
            "update",
            "update an event (PATCH, If-Match)",
            # Each server updates its own half of the events; versions are read again before every run.
            script=lambda s: lua_update(
                asyncio.run(_versions(database_url, halves[0] if s is service else halves[1])),
                sample.token,
                args.threads,
            ),
        ),
    ]
    return found


def probe(server: Server, paths: list[str], budget: float = 30, count: int = 5) -> float | None:
    """Single-request latency: the median of a few requests sent one at a time (ms)."""
    times: list[float] = []
    started = time.monotonic()
    for i in range(count):
        began = time.perf_counter()
        status, _, _ = get(server, paths[i % len(paths)], timeout=600)
        if status >= 400:
            return None
        times.append((time.perf_counter() - began) * 1000)
        if time.monotonic() - started > budget:
            break
    return sorted(times)[len(times) // 2]


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


# --- do both servers give the same answers? ----------------------------------------------------------


def parity(sample: Sample, service: Server, baseline: Server) -> list[str]:
    """Compare a few answers of each kind; the list of differences (empty: the same JSON)."""
    paths = []
    for case_id in sample.cases[:3] + sample.median_cases[:1]:
        paths += [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}?include={INCLUDE_ALL}"]
        paths += [f"/api/v1/cases/{case_id}/timeline", f"/api/v1/cases/{case_id}/timeline?limit={PAGE}"]
    paths += [f"/api/v1/cases/{sample.heaviest_case}/timeline?limit={PAGE}", f"/api/v1/events?limit={PAGE}"]
    paths += [f"/api/v1/outcomes?kind={k}&country={c}" for k, c in sample.outcome_filters[:3]]
    paths += [f"/api/v1/people?q={t}" for t in sample.search_terms[:3]]
    differences = []
    for path in paths:
        a, b = get(service, path), get(baseline, path)
        if a[0] != b[0] or not _same_json(a[2], b[2]):
            differences.append(f"{path}: service {a[0]} {a[2][:120]!r}, baseline {b[0]} {b[2][:120]!r}")
    # A write each, compared field by field apart from what must differ (ids, times, titles).
    auth = {"Authorization": f"Bearer {sample.token}"}
    body = {"kind": "statement", "date": "2021-03-04", "title": "Parity check", "person_ids": [sample.person_id]}
    created = [request(s, "POST", f"/api/v1/cases/{sample.cases[0]}/events", body, auth) for s in (service, baseline)]
    shape = [sorted(c[2]) if isinstance(c[2], dict) else c for c in created]
    if created[0][0] != created[1][0] or shape[0] != shape[1]:
        differences.append(f"POST events: service {created[0][:1]} {shape[0]}, baseline {created[1][:1]} {shape[1]}")
    else:
        for server, (_, headers, event) in zip((service, baseline), created, strict=True):
            status, _, updated = request(
                server, "PATCH", f"/api/v1/events/{event['id']}", {"title": "Parity check, updated"},
                {**auth, "If-Match": headers.get("etag", headers.get("ETag", ""))},
            )  # fmt: skip
            stale, _, _ = request(
                server, "PATCH", f"/api/v1/events/{event['id']}", {"title": "x"}, {**auth, "If-Match": '"1"'}
            )
            if status != 200 or updated.get("version") != 2 or stale != 412:
                differences.append(f"PATCH events on the {server.name}: {status} {updated}, stale If-Match {stale}")
    return differences


# --- export and dump --------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def export(server: Server, timeout: float) -> dict[str, Any]:
    """Stream GET /api/v1/events?format=csv to nowhere; the server's peak memory while it answers."""
    rss_before = _status_kib(server.pid, "VmRSS")
    try:  # reset the peak (VmHWM) to the current size, so the peak is the export's
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    peak_polled = rss_before
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request("GET", "/api/v1/events?format=csv")
    response = conn.getresponse()
    size, lines, last_poll = 0, 0, 0.0
    while chunk := response.read(1 << 16):
        size += len(chunk)
        lines += chunk.count(b"\n")
        now = time.perf_counter()
        if now - last_poll > 0.1:
            peak_polled, last_poll = max(peak_polled, _status_kib(server.pid, "VmRSS")), now
    conn.close()
    elapsed = time.perf_counter() - started
    peak = max(_status_kib(server.pid, "VmHWM"), peak_polled)
    return {
        "status": response.status,
        "rows": max(0, lines - 1),  # a CSV cell may hold a newline inside quotes: approximately the rows
        "megabytes": size / 1e6,
        "seconds": elapsed,
        "rows_per_second": max(0, lines - 1) / elapsed if elapsed else 0,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": peak / 1024,
    }


def dump(database_url: str, workdir: Path) -> dict[str, Any]:
    """`casetrack dump` (NDJSON, every table) to a file; its time and its peak memory."""
    output = workdir / "dump.ndjson"
    env = {**os.environ, "DATABASE_URL": database_url}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dump", "--output", str(output)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    stderr = process.stderr.read().decode() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    rows = 0
    if output.exists():
        with open(output, "rb") as f:
            rows = sum(1 for _ in f) - 2  # the header and closing lines
        megabytes = output.stat().st_size / 1e6
        output.unlink()
    else:
        megabytes = 0
    return {
        "exit": process.returncode,
        "rows": rows,
        "megabytes": megabytes,
        "seconds": elapsed,
        "rows_per_second": rows / elapsed if elapsed else 0,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "message": stderr.strip().splitlines()[-1] if stderr.strip() else "",
    }


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    service: Result | None = None
    baseline: Result | None = None
    service_single_ms: float | None = None  # one request at a time (the median of a few)
    baseline_single_ms: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.service is None or self.baseline is None or not self.baseline.requests_per_second:
            return None
        return self.service.requests_per_second / self.baseline.requests_per_second

    @property
    def cpu_ratio(self) -> float | None:
        """Baseline CPU per request / service CPU per request: the same ratio, measured in CPU time."""
        if self.service is None or self.baseline is None or not self.service.cpu_ms_per_request:
            return None
        return self.baseline.cpu_ms_per_request / self.service.cpu_ms_per_request


@dataclass
class DatabaseRun:
    database: str
    backend: str
    server_version: str
    events: int
    rows: list[Row] = field(default_factory=list)
    parity: list[str] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)
    import_: dict[str, Any] | None = None
    load: tuple[str, str] = ("", "")


def run_database(database_url: str, args: argparse.Namespace, wanted: set[str], workdir: Path) -> DatabaseRun:
    say(f"\n== {database_url}: sampling ids")
    sample = asyncio.run(_sample(database_url, args.seed))
    say(
        f"   {len(sample.cases)} random cases; median case {sample.median_items} timeline items; heaviest "
        f"{sample.heaviest_items:,}; {sample.events_total:,} events"
    )
    result = DatabaseRun(database_url, sample.backend, sample.server_version, sample.events_total)
    result.load = (loadavg(), "")
    service, baseline = start_servers(database_url, args.port, workdir)
    try:
        say("   comparing answers (service vs baseline)")
        result.parity = parity(sample, service, baseline)
        for difference in result.parity:
            say(f"   DIFFERENT: {difference}")
        for endpoint in endpoints(sample, service, baseline, args, database_url):
            if endpoint.key not in wanted:
                continue
            row = Row(endpoint.key, endpoint.label)
            both = [service, baseline]
            if endpoint.paths is not None:
                for server in both:
                    wait_idle(both)
                    setattr(row, f"{server.name}_single_ms", probe(server, endpoint.paths(server)))
            connections, seconds = endpoint.connections, args.duration
            single = row.service_single_ms or 0
            if single > SLOW_MS:
                # Answers that take seconds: at 16 connections a run would end before the first one; with
                # 2, the run lasts long enough for a few (at most a minute).
                connections = connections or 2
                seconds = max(seconds, min(SLOW_RUN_CAP, 4 * single / 1000))
            if connections:
                row.label += f" [{connections} connections" + (f", {seconds:.0f} s" if seconds != args.duration else "")
                row.label += "]"
            for server in both:
                say(f"   {endpoint.label}: {server.name} ...", end="")
                if args.warmup > 0:
                    wrk(server, endpoint.lua, args.warmup, args, workdir, connections, both)
                spy = None
                if args.profile and server is service:
                    spy = Path(args.profile) / f"{sample.backend}-{endpoint.key}.raw"
                measured = wrk(server, endpoint.lua, seconds, args, workdir, connections, both, spy)
                setattr(row, server.name, measured)
                say(f" {measured.requests_per_second:,.0f} req/s, p50 {measured.p50_ms:.1f} ms" + (
                    f", {measured.errors} errors" if measured.errors else ""))  # fmt: skip
            result.rows.append(row)
    finally:
        service.stop()
        baseline.stop()
    if not args.skip_export:
        # Fresh processes: the peak is the export's, not what earlier heavy answers left in the heap.
        service, baseline = start_servers(database_url, args.port, workdir)
        try:
            for server in (service, baseline):
                wait_idle([service, baseline])
                say(f"   CSV export of every event: {server.name} ...", end="")
                result.export[server.name] = export(server, timeout=3600)
                e = result.export[server.name]
                say(
                    f" {e['rows']:,} rows in {e['seconds']:.1f} s, RSS {e['rss_before_mb']:.0f} MB before, "
                    f"peak {e['peak_rss_mb']:.0f} MB"
                )
        finally:
            service.stop()
            baseline.stop()
    if not args.skip_export:
        say("   casetrack dump (NDJSON) ...", end="")
        result.export["dump"] = dump(database_url, workdir)
        d = result.export["dump"]
        say(f" {d['rows']:,} rows in {d['seconds']:.1f} s, peak RSS {d['peak_rss_mb']:.0f} MB")
    for path in args.import_report:
        report = json.loads(Path(path).read_text())
        if report.get("backend") == sample.backend:
            result.import_ = report
    result.load = (result.load[0], loadavg())
    return result


def make_url_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"{parsed.get_backend_name()}-{Path(parsed.database or 'db').stem}"


def say(message: str, end: str = "\n") -> None:
    print(message, end=end, flush=True)


def _fmt_rate(r: Result | None) -> str:
    if r is None:
        return "-"
    return f"{r.requests_per_second:,.1f}" if r.requests_per_second < 10 else f"{r.requests_per_second:,.0f}"


def _fmt_cpu(r: Result | None) -> str:
    return "-" if r is None or not r.requests else f"{r.cpu_ms_per_request:,.2f}"


def _fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(run: DatabaseRun) -> str:
    lines = [
        f"### {run.backend} ({run.server_version}), {run.events:,} events; load average {run.load[0]} -> {run.load[1]}",
        "",
        "| endpoint | service req/s | p50 ms | p99 ms | 1 req ms | baseline req/s | p50 ms | p99 ms | 1 req ms "
        "| service/baseline | CPU ms/req service | baseline | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in run.rows:
        s, b = row.service, row.baseline
        errors = []
        for name, r in (("service", s), ("baseline", b)):
            if r is not None and r.errors:
                errors.append(f"{name}: {r.errors} errors in {r.requests} answers")
            elif r is not None and not r.requests:
                errors.append(f"{name}: no answer within the run")
        note = f" ({'; '.join(errors)})" if errors else ""
        lines.append(
            f"| {row.label}{note} | {_fmt_rate(s)} | {_fmt_ms(s and s.p50_ms)} | {_fmt_ms(s and s.p99_ms)} | "
            f"{_fmt_ms(row.service_single_ms)} | {_fmt_rate(b)} | {_fmt_ms(b and b.p50_ms)} | "
            f"{_fmt_ms(b and b.p99_ms)} | {_fmt_ms(row.baseline_single_ms)} | "
            f"{'-' if row.ratio is None else f'**{row.ratio:.2f}**'} | {_fmt_cpu(s)} | {_fmt_cpu(b)} | "
            f"{'-' if row.cpu_ratio is None else f'{row.cpu_ratio:.2f}'} |"
        )
    if run.export:
        lines += [
            "",
            "| export (a fresh server process each) | rows | MB | seconds | rows/s | RSS before MB | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, label in (("service", "service: GET /events?format=csv"), ("baseline", "baseline: the same CSV"),
                            ("dump", "casetrack dump (NDJSON, every table)")):  # fmt: skip
            e = run.export.get(name)
            if e:
                before = f"{e['rss_before_mb']:,.0f}" if "rss_before_mb" in e else "-"
                lines.append(
                    f"| {label} | {e['rows']:,} | {e['megabytes']:,.0f} | {e['seconds']:,.1f} | "
                    f"{e['rows_per_second']:,.0f} | {before} | {e['peak_rss_mb']:,.0f} |"
                )
    if run.import_:
        i = run.import_
        lines += [
            "",
            f"Bulk import (`bench generate`, scale {i['scale']}, {i['method']}): {i['records']:,} records "
            f"({i['rows']:,} rows) in {i['seconds']:.1f} s = **{i['records_per_second']:,.0f} records/s** "
            f"({i['rows_per_second']:,.0f} rows/s).",
        ]
    if run.parity:
        lines += ["", "Answers that differ between the service and the baseline:"] + [f"- {d}" for d in run.parity]
    return "\n".join(lines)


def targets(run: DatabaseRun) -> list[tuple[str, bool | None, str]]:
    rows = {r.key: r for r in run.rows}
    found: list[tuple[str, bool | None, str]] = []

    def ratio(key: str, least: float, what: str) -> None:
        row = rows.get(key)
        if row and row.ratio is not None and row.service and row.service.usable:
            found.append((what, row.ratio >= least, f"{row.ratio:.2f}x the baseline's requests/s (target >= {least})"))

    ratio("case", 0.5, "case by id >= 0.5x baseline")
    ratio("timeline_median", 0.4, "median case's timeline >= 0.4x baseline")

    def latency(row: Row | None) -> tuple[float | None, str]:
        """A single request's latency (ms), or wrk's p50 when there is none."""
        if row is None:
            return None, ""
        if row.service_single_ms is not None:
            return row.service_single_ms, "one request at a time"
        if row.service is not None and row.service.usable:
            return row.service.p50_ms, "wrk p50"
        return None, ""

    def within(key: str, reference: str, most: float, what: str, label: str) -> None:
        (value, how), (base, _) = latency(rows.get(key)), latency(rows.get(reference))
        if value is not None and base:
            found.append((what, value / base <= most, f"{value:,.1f} ms {label} vs {base:,.1f} ms ({how}): "
                                                       f"{value / base:.2f}x"))  # fmt: skip

    heavy = "timeline_heaviest_page" if "timeline_heaviest_page" in rows else "timeline_heaviest"
    within(
        heavy,
        "timeline_median",
        2,
        "heaviest case's first timeline page <= 2x the median case's latency",
        "(first page)" if heavy.endswith("_page") else "(the whole timeline: the service has no paging)",
    )
    within("list_deep", "list_first", 1.5, "page 1,000 <= 1.5x the first page's latency", "(deep page)")
    if run.import_:
        rate = run.import_["records_per_second"]
        found.append(("bulk import >= 20,000 records/s", rate >= 20_000, f"{rate:,.0f} records/s"))
    service_export = run.export.get("service")
    if service_export:
        found.append(
            ("export of every event: peak memory < 200 MB", service_export["peak_rss_mb"] < 200,
             f"service peak RSS {service_export['peak_rss_mb']:.0f} MB over {service_export['rows']:,} rows"),
        )  # fmt: skip
    return found


def main(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("bench run: wrk is not installed (Debian: apt-get install wrk)")
    wanted = set(args.endpoints.split(",")) if args.endpoints else set(ENDPOINT_KEYS)
    if unknown := wanted - set(ENDPOINT_KEYS):
        raise SystemExit(f"bench run: unknown endpoints {', '.join(sorted(unknown))}")
    info = machine()
    say(
        f"bench run: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB; commit {info['commit']}; "
        f"wrk -t{args.threads} -c{args.connections}, {args.warmup:g} s warm-up + {args.duration:g} s per run"
    )
    say("   " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    runs = []
    with tempfile.TemporaryDirectory(prefix="casetrack-bench-") as tmp:
        for number, url in enumerate(args.database_url):
            workdir = Path(args.logs or tmp) / f"{number}-{make_url_name(url)}"
            workdir.mkdir(parents=True, exist_ok=True)
            runs.append(run_database(url, args, wanted, workdir))
    print()
    for run in runs:
        print(table(run))
        print()
        print("Targets:")
        for what, met, detail in targets(run):
            print(f"- {'MET' if met else 'NOT MET'}: {what}: {detail}")
        print()
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps({"machine": info, "args": vars(args), "runs": [asdict(r) for r in runs]}, indent=2, default=str)
        )
    return 0

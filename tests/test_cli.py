"""The `casetrack` command as a user runs it: the console script from this environment, in a subprocess,
on a fresh SQLite database in a temporary directory.

`casetrack serve` prints one plain line saying where it serves and what it loaded (with one worker
process or several) and otherwise only JSON log lines; `casetrack tokens create/list/revoke` make,
show and revoke tokens that the served API accepts and then refuses.

Every wait is bounded by a timeout; the timeouts are safety nets, never assertions about speed.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.demo import CASE, CASE_ID

CASETRACK = str(Path(sys.executable).parent / "casetrack")
COMMAND_TIMEOUT = 180.0  # seconds for a command such as `casetrack migrate`
START_TIMEOUT = 120.0  # seconds for `casetrack serve` to answer /readyz
STOP_TIMEOUT = 30.0

# casetrack: serving http://127.0.0.1:8000/ (demo case loaded: …) — database sqlite:///…
SERVING = re.compile(r"^casetrack: serving (?P<url>http://127\.0\.0\.1:\d+/)(?P<rest>.*)$")


def environment(directory: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any casetrack setting, with a SQLite database in ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CASETRACK_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{directory / 'casetrack.db'}"
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CASETRACK, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    url: str = ""  # from the plain line

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def describe(self) -> str:
        return f"exit code {self.process.poll()}\n--- stdout:\n{self.out()}\n--- stderr:\n{self.err()[-6000:]}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # Ctrl-C, as on a terminal
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def casetrack_serve(*args: str, env: dict[str, str], cwd: Path) -> Iterator[Served]:
    """`casetrack serve --port 0 ARGS` (the system picks a free port, which the plain line names), yielded
    once its URL answers /readyz with 200; stopped with Ctrl-C afterwards."""
    stdout, stderr = cwd / f"serve-{time.monotonic_ns()}.out", cwd / f"serve-{time.monotonic_ns()}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([CASETRACK, "serve", "--port", "0", *args], env=env, cwd=cwd, stdout=out, stderr=err)
    served = Served(process, stdout, stderr)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not served.url:
            match = next(filter(None, map(SERVING.match, served.out().splitlines())), None)
            if match:
                served.url = match["url"]
                break
            assert process.poll() is None and time.monotonic() < deadline, f"no serving line:\n{served.describe()}"
            time.sleep(0.1)
        while True:
            try:
                if httpx.get(f"{served.url}readyz", timeout=5.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, f"not ready:\n{served.describe()}"
            time.sleep(0.2)
        yield served
    finally:
        _stop(process)


def check_json_log(text: str) -> list[dict[str, object]]:
    """Every line is one JSON object, with no colour codes in any value and no ``color_message``."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"a log line that is not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        assert "color_message" not in record, line
        assert "\x1b" not in line and not any("\x1b" in str(value) for value in record.values()), line
        records.append(record)
    return records


def test_serve_says_where_and_what_it_loaded_and_logs_only_json(tmp_path: Path) -> None:
    env = environment(tmp_path)
    with casetrack_serve("--demo", env=env, cwd=tmp_path) as served:
        home = httpx.get(served.url, timeout=30.0)
        assert home.status_code == 200, home.text
        assert CASE["title"] in home.text
    assert served.out().splitlines() == [
        f"casetrack: serving {served.url} (demo case loaded: {CASE['title']}) — database "
        f"sqlite:///{tmp_path / 'casetrack.db'}"
    ], served.describe()
    records = check_json_log(served.err())
    assert any(record.get("message") == "Application startup complete." for record in records), served.describe()
    assert served.process.returncode == 0, served.describe()


def test_serve_with_two_workers_says_where_too(tmp_path: Path) -> None:
    env = environment(tmp_path)
    with casetrack_serve("--demo", env=env, cwd=tmp_path) as first:
        pass
    assert "(demo case loaded:" in first.out()
    with casetrack_serve("--demo", "--workers", "2", env=env, cwd=tmp_path) as served:
        for _ in range(4):
            assert httpx.get(f"{served.url}api/v1/cases/{CASE_ID}", timeout=30.0).status_code == 200
    assert served.out().splitlines() == [
        f"casetrack: serving {served.url} (demo case already there: {CASE['title']}) — database "
        f"sqlite:///{tmp_path / 'casetrack.db'} — 2 worker processes"
    ], served.describe()
    records = check_json_log(served.err())
    started = [record for record in records if record.get("message") == "Application startup complete."]
    assert len(started) == 2, served.describe()


def test_serve_without_demo_names_no_demo(tmp_path: Path) -> None:
    env = environment(tmp_path)
    with casetrack_serve(env=env, cwd=tmp_path) as served:
        assert httpx.get(f"{served.url}api/v1/cases", timeout=30.0).json()["items"] == []
    assert served.out().splitlines() == [
        f"casetrack: serving {served.url} — database sqlite:///{tmp_path / 'casetrack.db'}"
    ], served.describe()
    check_json_log(served.err())


def test_serve_on_a_taken_port_says_so_in_one_sentence(tmp_path: Path) -> None:
    env = environment(tmp_path)
    with casetrack_serve(env=env, cwd=tmp_path) as served:
        port = served.url.rsplit(":", 1)[1].rstrip("/")
        result = run("serve", "--port", port, env=env, cwd=tmp_path)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith(f"casetrack: cannot listen on 127.0.0.1:{port}: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_tokens_create_list_use_and_revoke(tmp_path: Path) -> None:
    env = environment(tmp_path)
    migrated = run("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated
    assert migrated.stdout.strip() == "casetrack: the database schema is up to date."

    empty = run("tokens", "list", env=env, cwd=tmp_path)
    assert empty.returncode == 0, empty
    assert empty.stdout.startswith("No tokens yet"), empty

    created = run("tokens", "create", "--name", "alice", "--role", "editor", env=env, cwd=tmp_path)
    assert created.returncode == 0, created
    assert created.stderr == ""
    token = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1 and len(token) >= 32, created.stdout

    listed = run("tokens", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed
    assert token not in listed.stdout  # only its hash is stored
    [line] = listed.stdout.splitlines()
    name, role, created_at, state = line.split("\t")
    assert (name, role, state) == ("alice", "editor", "active")
    assert re.fullmatch(r"created \d{4}-\d\d-\d\d \d\d:\d\d", created_at), line

    body = {"title": "Prosecution of A. Example", "country": "BY", "status": "trial"}
    with casetrack_serve(env=env, cwd=tmp_path) as served:
        api = f"{served.url}api/v1"
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{api}/cases", json=body, timeout=30.0).status_code == 401
        accepted = httpx.post(f"{api}/cases", json=body, headers=auth, timeout=30.0)
        assert accepted.status_code == 201, accepted.text

        revoked = run("tokens", "revoke", "alice", env=env, cwd=tmp_path)
        assert revoked.returncode == 0, revoked
        assert revoked.stdout.strip() == "casetrack: revoked the token 'alice'."

        refused = httpx.post(f"{api}/cases", json=body, headers=auth, timeout=30.0)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"

    listed = run("tokens", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed
    assert re.fullmatch(r"alice\teditor\tcreated [\d: -]+\trevoked \d{4}-\d\d-\d\d \d\d:\d\d\n", listed.stdout)


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (
            ["tokens", "create", "--name", "bob", "--role", "superuser"],
            2,
            "casetrack: unknown role 'superuser'; roles: reader, editor, admin",
        ),
        (["tokens", "revoke", "nobody"], 1, "casetrack: no token named 'nobody'"),
        (
            ["tokens", "create", "--name", "", "--role", "reader"],
            1,
            "casetrack: a token name must be 1 to 100 characters",
        ),
    ],
)
def test_tokens_bad_arguments_are_one_sentence(tmp_path: Path, args: list[str], code: int, sentence: str) -> None:
    env = environment(tmp_path)
    result = run(*args, env=env, cwd=tmp_path)
    assert result.returncode == code, result
    assert result.stdout == ""
    assert result.stderr == sentence + "\n"


def test_a_token_name_is_taken_once(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run("tokens", "create", "--name", "carol", "--role", "reader", env=env, cwd=tmp_path).returncode == 0
    again = run("tokens", "create", "--name", "carol", "--role", "admin", env=env, cwd=tmp_path)
    assert again.returncode == 1, again
    assert again.stdout == ""
    assert again.stderr == "casetrack: a token named 'carol' exists already (revoked ones keep their name)\n"

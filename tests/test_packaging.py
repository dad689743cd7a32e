"""How casetrack is installed: bounded dependencies, a hashed lock that pins what they resolve to, and the
lock as the one source for CI, the README and the Docker image; compose.yaml's shape.

The lock is checked against the installed distribution's own metadata (importlib.metadata), followed
recursively through every requirement whose marker holds here: so a dependency added to pyproject.toml
without updating the lock, or a lock entry nothing needs any more, fails here.
"""

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import uvicorn
import uvloop
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
UV_IN = ROOT / "requirements-uv.in"  # the installer the test command uses, bounded here...
UV_LOCK = ROOT / "requirements-uv.lock"  # ...and pinned with hashes here
README = (ROOT / "README.md").read_text()


def _requirement_lines(path: Path) -> list[str]:
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = project.get("optional-dependencies", {})
    declared = project["dependencies"] + [r for group in extras.values() for r in group] + _requirement_lines(UV_IN)
    return [Requirement(line) for line in declared]


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    operators = {spec.operator for spec in requirement.specifier}
    assert operators & {"<", "<=", "==", "~=", "==="}, f"{requirement} has no upper bound (add <NEXT_MAJOR)"
    assert operators & {">=", ">", "==", "~=", "==="}, f"{requirement} has no lower bound"


def _lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, sha256 hashes) for every requirement in a pip-compile lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in re.sub(r"\\\n", " ", path.read_text()).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        assert not line.startswith(("--index-url", "--extra-index-url", "--find-links", "-f", "-i")), (
            f"{path.name} names an index of this machine: {line}"
        )
        requirement = Requirement(line.split(" --hash", 1)[0])
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{path.name}: {requirement} is not pinned with =="
        pins[canonicalize_name(requirement.name)] = (spec.version, re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return pins


def _resolved(extras: set[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution casetrack (with these extras) needs here, found through its metadata."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [("casetrack", frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        distribution = found.setdefault(name, metadata.distribution(name))
        environments = [default_environment() | {"extra": extra} for extra in wanted | {""}]
        for line in distribution.requires or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(dependency.marker.evaluate(env) for env in environments):
                pending.append((canonicalize_name(dependency.name), frozenset(dependency.extras)))
    del found["casetrack"]
    return found


def _is_platform_specific(distribution: metadata.Distribution) -> bool:
    wheel = distribution.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return bool(tags) and not all(tag.endswith("-none-any") for tag in tags)


@pytest.mark.parametrize(("lock", "extras"), [(RUNTIME_LOCK, set()), (TEST_LOCK, {"test"})], ids=["runtime", "test"])
def test_the_lock_pins_every_package_the_dependencies_resolve_to(lock: Path, extras: set[str]) -> None:
    pins = _lock(lock)
    resolved = _resolved(extras)
    assert sorted(set(resolved) - set(pins)) == [], f"needed but not in {lock.name}: update the lock"
    assert sorted(set(pins) - set(resolved)) == [], f"in {lock.name} but needed by nothing: update the lock"
    for name, distribution in resolved.items():
        version, hashes = pins[name]
        assert distribution.version == version, (
            f"{name} {distribution.version} is installed, {lock.name} pins {version}: install from the lock"
        )
        assert hashes, f"{lock.name}: {name} has no hash"
        if _is_platform_specific(distribution):
            # The hashes of every file of the pinned version, so other platforms and Pythons install too.
            assert len(hashes) > 1, f"{lock.name}: {name} has only this platform's wheel hashed"


def test_the_runtime_lock_agrees_with_the_test_lock() -> None:
    runtime, test = _lock(RUNTIME_LOCK), _lock(TEST_LOCK)
    assert {name: test.get(name, ("missing", []))[0] for name in runtime} == {n: v for n, (v, _) in runtime.items()}


def _fenced_after(heading: str) -> str:
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return block.strip()


def test_the_readme_installs_from_the_locks() -> None:
    run, test = _fenced_after("Run it"), _fenced_after("Test it")
    for command in (run, test):
        assert "\n" not in command, f"not one line: {command}"
    assert f"pip install --require-hashes -r {RUNTIME_LOCK.name}" in run
    assert "pip install --no-deps " in run
    # The test command: uv from its own hashed lock (with the venv's pip), then the test lock with that uv, into
    # the same venv, then the project without dependencies.
    steps = test.split(" && ")
    uv = f".venv/bin/pip install --require-hashes -r {UV_LOCK.name}"
    into_venv = ".venv/bin/uv pip install --python .venv/bin/python"
    lock = f"{into_venv} --require-hashes -r {TEST_LOCK.name}"
    project = f"{into_venv} --no-deps -e ."
    assert uv in steps and lock in steps and project in steps, steps
    assert steps.index(uv) < steps.index(lock) < steps.index(project)


def test_the_installer_lock_pins_uv_within_its_bound_and_is_what_is_installed() -> None:
    (bound,) = [Requirement(line) for line in _requirement_lines(UV_IN)]
    pins = _lock(UV_LOCK)
    assert set(pins) == {"uv"}, f"{UV_LOCK.name} must pin uv alone (it has no dependencies): {sorted(pins)}"
    version, hashes = pins["uv"]
    assert bound.specifier.contains(version), f"{UV_LOCK.name} pins uv {version}, outside {bound}: update the lock"
    assert len(hashes) > 1, f"{UV_LOCK.name}: uv has only this platform's wheel hashed"
    assert metadata.version("uv") == version, f"uv {metadata.version('uv')} is installed, the lock pins {version}"


def test_ci_runs_the_readme_test_command_verbatim_then_ruff_and_mypy() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    command = _fenced_after("Test it")
    lines = [line.strip() for line in script.splitlines()]
    assert command in lines, f".ci/run does not run the README's test command: {command}"
    # The command installs from the lock itself; the checks then use that environment (installing twice
    # would cost CI a quarter of a minute for nothing). Each check must run, after the install.
    checks = [
        next((i for i, line in enumerate(lines) if line == check), None)
        for check in (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy")
    ]
    assert None not in checks, f".ci/run does not run every check: {checks}"
    assert checks == sorted(checks) and min(c for c in checks if c is not None) > lines.index(command)
    assert "set -euo pipefail" in lines, "a failing step must fail CI"


def test_the_dockerfile_installs_the_lock_as_a_layer_before_the_code() -> None:
    steps = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    copy_lock = next(i for i, s in enumerate(steps) if s.startswith("COPY") and RUNTIME_LOCK.name in s)
    install_lock = next(i for i, s in enumerate(steps) if f"--require-hashes -r {RUNTIME_LOCK.name}" in s)
    copy_code = next(i for i, s in enumerate(steps) if s.startswith("COPY app "))
    install_project = next(i for i, s in enumerate(steps) if "pip install --no-deps" in s)
    assert copy_lock < install_lock < copy_code < install_project
    assert any(s.startswith("USER ") and s.split()[1] not in {"root", "0"} for s in steps)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_migrations_before_the_service_on_postgresql_with_health_checks() -> None:
    compose = _compose()
    services = compose["services"]
    app, migrate, db = services["app"], services["migrate"], services["db"]

    assert db["image"].split(":")[0] == "postgres"
    (volume,) = [v for v in db["volumes"] if v.split(":")[1].startswith("/var/lib/postgresql")]
    assert volume.split(":")[0] in compose["volumes"], "PostgreSQL's data lives in a named volume"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    assert migrate["command"] == ["casetrack", "migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for service in (app, migrate):
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert service["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
    assert app["environment"].get("CASETRACK_AUTO_MIGRATE", "false") == "false"
    health = " ".join(app["healthcheck"]["test"])
    assert "/readyz" in health and "urllib" in health and "curl" not in health


def _docker_compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_yaml_is_valid_for_docker_compose() -> None:
    command = _docker_compose()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run([*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_the_server_runs_on_uvloop_and_httptools() -> None:
    """`casetrack serve` leaves uvicorn's loop and HTTP parser on "auto" (app/cli.py): with `uvicorn[standard]`
    installed, auto is uvloop and httptools, the stack the benchmark's numbers are for."""
    config = uvicorn.Config("app.main:create_server_app", factory=True)
    assert (config.loop, config.http) == ("auto", "auto")
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol

"""The OpenAPI document is good enough to generate a typed client from.

TypeScript types are generated from the app's ``/openapi.json`` with openapi-typescript, and the
hand-written client in clients/typescript/client.ts is type-checked against them with tsc; a second
file there (must_not_compile.ts) uses fields that do not exist and must be rejected, which proves the
generated types are really enforced. Both tools come from clients/typescript/node_modules, installed
from the committed lock file by ``npm ci --prefix clients/typescript``: nothing is downloaded here.
"""

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
CLIENT_DIR = ROOT / "clients" / "typescript"
BIN = CLIENT_DIR / "node_modules" / ".bin"
NEGATIVE = "must_not_compile.ts"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# `// expect-error TS2339 'courtroom'` marks a line of must_not_compile.ts that tsc must reject.
EXPECT_ERROR = re.compile(r"//\s*expect-error\s+(TS\d+)\s+'([^']+)'")
TSC_ERROR = re.compile(r"^(?P<file>[^\s(]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): (?P<message>.*)$")


@pytest.fixture(scope="module")
def openapi_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = tmp_path_factory.mktemp("openapi-db") / "casetrack.db"
    app = create_app(Settings(database_url=f"sqlite:///{database}", auto_migrate=False))
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_is_named_and_tagged(openapi_document: dict[str, Any]) -> None:
    operations = _operations(openapi_document)
    assert operations, "the OpenAPI document has no operations"

    unnamed = [f"{method} {path}" for method, path, operation in operations if not operation.get("operationId")]
    assert not unnamed, f"operations without an operationId: {unnamed}"

    ids = Counter(operation["operationId"] for _, _, operation in operations)
    duplicated = {operation_id: count for operation_id, count in ids.items() if count > 1}
    assert not duplicated, f"operationIds used more than once: {duplicated}"

    # Generators turn operationIds into function and type names.
    not_identifiers = [operation_id for operation_id in ids if not operation_id.isidentifier()]
    assert not not_identifiers, f"operationIds that are not identifiers: {not_identifiers}"

    untagged = [f"{method} {path}" for method, path, operation in operations if not operation.get("tags")]
    assert not untagged, f"operations without a tag: {untagged}"


def _tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(
            f"{tool.relative_to(ROOT)} is missing: the TypeScript tools are not installed. "
            "Run `npm ci --prefix clients/typescript` from the repository root (it installs the versions "
            "pinned in clients/typescript/package-lock.json), then run this test again.",
            pytrace=False,
        )
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the TypeScript client check needs Node.js (20 or later).", pytrace=False)
    return tool


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _tsc(workdir: Path, tsconfig: str) -> subprocess.CompletedProcess[str]:
    return _run(_tool("tsc"), "-p", tsconfig, "--pretty", "false", cwd=workdir)


@pytest.fixture(scope="module")
def typescript_workdir(openapi_document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of clients/typescript beside the types generated from the app's OpenAPI document."""
    openapi_typescript = _tool("openapi-typescript")
    workdir = tmp_path_factory.mktemp("typescript-client")
    spec = workdir / "openapi.json"
    spec.write_text(json.dumps(openapi_document, indent=2), encoding="utf-8")
    generated = workdir / "generated" / "casetrack.ts"

    # Request fields with a default (e.g. `restricted: false`) stay optional for the client: the
    # response schemas mark every always-present field required on their own.
    result = _run(openapi_typescript, spec, "-o", generated, "--default-non-nullable=false", cwd=workdir)
    assert result.returncode == 0, f"openapi-typescript failed:\n{result.stdout}\n{result.stderr}"
    assert "export interface paths" in generated.read_text(encoding="utf-8")

    for name in ("client.ts", NEGATIVE, "tsconfig.json"):
        shutil.copy(CLIENT_DIR / name, workdir / name)
    (workdir / "tsconfig.negative.json").write_text(
        json.dumps({"extends": "./tsconfig.json", "files": [NEGATIVE]}), encoding="utf-8"
    )
    return workdir


def test_client_type_checks_against_generated_types(typescript_workdir: Path) -> None:
    result = _tsc(typescript_workdir, "tsconfig.json")
    assert result.returncode == 0, (
        "clients/typescript/client.ts does not type-check against the types generated from /openapi.json:\n"
        f"{result.stdout}{result.stderr}"
    )


def test_generated_types_reject_wrong_fields(typescript_workdir: Path) -> None:
    lines = (CLIENT_DIR / NEGATIVE).read_text(encoding="utf-8").splitlines()
    expected = {
        (number, code): name for number, line in enumerate(lines, 1) for code, name in EXPECT_ERROR.findall(line)
    }
    assert len(expected) >= 3, f"{NEGATIVE} should mark the errors it expects"

    result = _tsc(typescript_workdir, "tsconfig.negative.json")
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, f"tsc accepted {NEGATIVE}, so the generated types enforce nothing:\n{output}"

    reported: dict[tuple[int, str], str] = {}
    for line in output.splitlines():
        if line.startswith(" "):
            continue  # the elaboration of the error above it
        error = TSC_ERROR.match(line)
        assert error, f"tsc printed something that is not an error line: {line!r}\n{output}"
        assert error["file"] == NEGATIVE, f"tsc reported an error outside {NEGATIVE}: {line}"
        reported[(int(error["line"]), error["code"])] = error["message"]

    missing = {where: name for where, name in expected.items() if where not in reported}
    assert not missing, f"tsc did not report these errors in {NEGATIVE} ((line, code): name): {missing}\n{output}"
    unexpected = {where: message for where, message in reported.items() if where not in expected}
    assert not unexpected, f"tsc reported errors besides the expected ones: {unexpected}"
    for (line, code), name in expected.items():
        message = reported[(line, code)]
        assert re.search(f"""['"]{re.escape(name)}['"]""", message), (
            f"{NEGATIVE}:{line} {code} does not name {name!r}: {message}"
        )

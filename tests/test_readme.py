"""README.md is executable truth: every shell block in it runs, in order, against a live `casetrack serve`.

The server is the console script of this environment (`casetrack serve --demo`, as the README says), on a
free loopback port, with a fresh SQLite database in a temporary directory. The blocks run in one bash
script under `set -euo pipefail`, in a temporary directory that holds a `.venv` link to this environment
(the README's commands are run "from this directory", as `.venv/bin/casetrack ...`) and with
`DATABASE_URL` pointing at the served database. The only substitution is the server's address: the
README's blocks take it from `API=${API:-http://127.0.0.1:8000/api/v1}`, and the test exports `API`.

A request that fails stops the script: every `curl` in a block that runs must fail on an HTTP error
(`-f`, `--fail` or `--fail-with-body`), which this test checks before running anything. A block that
cannot run here (installing, the test suite itself, Docker, PostgreSQL, the server the test already runs)
carries a marker line right before its fence:

    <!-- readme-test: skip — the reason -->

A shell block with neither fails the test, so does a marker with no block after it.
"""

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_cli import CASETRACK, casetrack_serve, environment

README = Path(__file__).resolve().parent.parent / "README.md"
SCRIPT_TIMEOUT = 600.0  # seconds for all the blocks; a safety net, never an assertion about speed

FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
SHELL = {"sh", "bash", "shell", "console", "zsh"}
MARKER = re.compile(r"^<!--\s*readme-test:\s*skip\s*(?:—|–|-{1,2}|:)\s*(?P<reason>\S.*?)\s*-->$")
ANY_MARKER = re.compile(r"readme-test", re.IGNORECASE)
API_DEFAULT = "${API:-http://127.0.0.1:8000/api/v1}"


@dataclass
class Block:
    number: int  # 1-based, in the order of the README's shell blocks
    line: int  # of the opening fence, 1-based
    text: str
    skip: str | None  # the marker's reason

    def title(self) -> str:
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        return f"block {self.number} (README.md line {self.line}: {first[:70]})"


def shell_blocks(markdown: str) -> list[Block]:
    """The README's shell blocks in order, each with the reason of the skip marker right before it."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None  # a marker waiting for its fence: (line, reason)
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        fence = FENCE.match(line)
        if fence is None:
            if ANY_MARKER.search(line):
                marker = MARKER.match(line)
                assert marker, f"README.md line {index + 1}: a malformed marker {line!r}; write {MARKER.pattern}"
                assert pending is None, f"README.md line {pending[0]}: a skip marker with no shell block after it"
                pending = (index + 1, marker["reason"])
            elif line and pending is not None:
                raise AssertionError(f"README.md line {pending[0]}: a skip marker not right before a shell block")
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md line {index + 1}: a code block that is never closed"
        if fence["lang"] in SHELL:
            text = "\n".join(lines[index + 1 : end])
            blocks.append(Block(len(blocks) + 1, index + 1, text, pending[1] if pending else None))
        else:
            assert pending is None, f"README.md line {pending[0]}: a skip marker before a {fence['lang']!r} block"
        pending = None
        index = end + 1
    assert pending is None, f"README.md line {pending[0]}: a skip marker with no shell block after it"
    return blocks


def curls_without_fail(text: str) -> list[str]:
    """The curl commands in ``text`` that would print an HTTP error's body and succeed."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for command in re.findall(r"(?<![\w./-])curl(?=\s)[^|;&)]*", line):
            if not re.search(r"(^|\s)(--fail(-with-body)?|-[a-zA-Z]*f[a-zA-Z]*)(\s|$)", command):
                found.append(command.strip())
    return found


def test_the_readme_blocks_are_found_and_each_runs_or_says_why_not() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert any(block.skip is None for block in blocks), "no README block runs"
    for block in blocks:
        if block.skip is None:
            assert not curls_without_fail(block.text), (
                f"{block.title()}: curl without -f/--fail-with-body would hide an HTTP error: "
                f"{curls_without_fail(block.text)}"
            )
            rest = block.text.replace(API_DEFAULT, "")
            assert "127.0.0.1:8000" not in rest and "localhost:8000" not in rest, (
                f"{block.title()}: the server's address must come from {API_DEFAULT}"
            )


def test_the_parser_sees_markers_and_missing_ones() -> None:
    markdown = (
        "text\n\n<!-- readme-test: skip — needs Docker -->\n```sh\ndocker build .\n```\n\n"
        "```python\nprint()\n```\n\n```sh\necho hi\n```\n"
    )
    blocks = shell_blocks(markdown)
    assert [(b.number, b.line, b.text, b.skip) for b in blocks] == [
        (1, 4, "docker build .", "needs Docker"),
        (2, 12, "echo hi", None),
    ]
    with pytest.raises(AssertionError, match="not right before a shell block"):
        shell_blocks("<!-- readme-test: skip — x -->\nprose\n```sh\nls\n```\n")
    with pytest.raises(AssertionError, match="malformed marker"):
        shell_blocks("<!-- readme-test: skipped -->\n```sh\nls\n```\n")
    assert curls_without_fail('curl -s "$API/x"\ncurl -sSf "$API/y" | python3 -c "..."\ncurl --fail-with-body z') == [
        'curl -s "$API/x"'
    ]


def test_every_readme_shell_block_runs_against_a_live_server(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    runs = [block for block in blocks if block.skip is None]
    skipped = [f"{block.title()}: {block.skip}" for block in blocks if block.skip is not None]
    summary = "README blocks skipped by their marker:\n" + "\n".join(f"  {line}" for line in skipped)
    print(summary)
    record_property("readme_blocks_run", [block.number for block in runs])
    record_property("readme_blocks_skipped", skipped)

    server_dir, work = tmp_path / "server", tmp_path / "work"
    server_dir.mkdir()
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))  # the README's `.venv/bin/casetrack`, run from "this directory"
    env = environment(server_dir)
    progress = work.parent / "block"
    script = ["set -euo pipefail", """trap 'echo "README command failed: $BASH_COMMAND" >&2' ERR"""]
    for block in runs:
        script += [f"echo {block.number} > {progress}", block.text]
    script.append(f"echo done > {progress}")

    with casetrack_serve("--demo", env=env, cwd=server_dir) as served:
        result = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=work,
            env=env | {"API": f"{served.url}api/v1", "HOME": str(work)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    reached = progress.read_text().strip() if progress.exists() else "none"
    failed = next((block.title() for block in runs if str(block.number) == reached), reached)
    assert result.returncode == 0 and reached == "done", (
        f"README {failed} failed (exit code {result.returncode}):\n{result.stdout[-4000:]}\n\n{summary}"
    )

    # The README told the reader to create an editor token; it is there.
    tokens = subprocess.run(
        [CASETRACK, "tokens", "list"], env=env, cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert tokens.returncode == 0, tokens
    assert any(line.split("\t")[1:2] == ["editor"] for line in tokens.stdout.splitlines()), tokens.stdout


def test_the_readme_cites_the_demo_article_as_the_demo_source_record_does() -> None:
    from app.demo import SOURCES

    article = dict(SOURCES)["article"]
    readme = README.read_text(encoding="utf-8")
    for field in ("title", "publisher", "url"):
        assert article.get(field), f"the demo's article source has no {field}"
        assert article[field] in readme, f"README.md does not cite the article's {field}: {article[field]!r}"
    # The project depends on no file outside its tree (the article's text is not shipped).
    root = README.parent
    for path in [README, *sorted((root / "app").rglob("*.py"))]:
        assert "shared/seed" not in path.read_text(encoding="utf-8"), path

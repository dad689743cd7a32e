"""Compiled bytecode shared by the test run's Python processes.

Where PYTHONDONTWRITEBYTECODE is set (as in CI and the Docker image), no process writes .pyc files, so each
one the tests start (`casetrack ...`, uvicorn servers, alembic) compiled every module of app/ and
migrations/ from source again: about 0.4 s of CPU per process. The run compiles them once into a
directory of its own (PYTHONPYCACHEPREFIX, outside the source tree) which every process it starts reads.
"""

import compileall
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "PYTHONPYCACHEPREFIX"
_made: list[str] = []


def share() -> None:
    """Compile app/, migrations/ and tests/ into a prefix that processes started from here on use. In the
    process that started the run; its xdist workers inherit the prefix."""
    if os.environ.get(PREFIX):
        return  # set by the controlling process, or by whoever runs the tests
    directory = tempfile.mkdtemp(prefix="casetrack-pycache-")
    _made.append(directory)
    sys.pycache_prefix = directory
    for package in ("app", "migrations", "tests"):
        compileall.compile_dir(ROOT / package, quiet=2)
    os.environ[PREFIX] = directory


def remove() -> None:
    for directory in _made:
        shutil.rmtree(directory, ignore_errors=True)
        if os.environ.get(PREFIX) == directory:
            del os.environ[PREFIX]
    _made.clear()

"""The package passes its own linter and type checker (the settings are in pyproject.toml).

Run here, so the README's one test command also checks what CI checks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra: pip install -e '.[test]'")
def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "twinworld", "tests", "benchmarks", "examples", "hatch_build.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_finds_nothing() -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    done = _run("mypy", "twinworld")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]

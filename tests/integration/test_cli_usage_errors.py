"""Every usage error of every command is one line on stderr and exit code 2, never a traceback.

Commands are found from the application itself, so a command added later is covered too. Each
case runs the real entry point (``twinworld.cli.main``) in a child forked from a warm server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from tests.forkserver import BoundedCLI
from twinworld.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]
REQUIRED = sorted(name for name, command in COMMANDS.items()
                  if any(p.required for p in command.params))

#: Malformed values, one per command at least: (arguments, a phrase the message must hold).
BAD_VALUES = [
    (["run", "scenarios/hospital_surge.yaml", "--seed", "abc"], "'--seed'"),
    (["run", "scenarios/hospital_surge.yaml", "--strategy"], "requires an argument"),
    (["validate", "scenarios/hospital_surge.yaml", "extra.yaml"], "unexpected extra argument"),
    (["schema", "--output"], "requires an argument"),
    (["sweep", "scenarios/hospital_surge.yaml", "--out", "x", "--scenarios", "0"], "'--scenarios'"),
    (["sweep", "scenarios/hospital_surge.yaml", "--out", "x", "--workers", "many"], "'--workers'"),
    (["sweep", "scenarios/hospital_surge.yaml"], "'--out'"),
    (["rank", "some/folder", "--confidence", "high"], "'--confidence'"),
    (["report", "some/folder", "--output"], "requires an argument"),
    (["twin", "scenarios/hospital_surge.yaml", "--samples", "1"], "'--samples'"),
    (["nosuchcommand"], "No such command"),
]


@pytest.fixture(scope="module")
def cli() -> BoundedCLI:
    with BoundedCLI() as server:
        yield server


def _one_line_usage_error(result, phrase: str) -> None:
    assert not result.timed_out
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and phrase in lines[0], lines[0]


def test_every_command_is_covered() -> None:
    assert {"run", "validate", "schema", "sweep", "rank", "report", "twin"} <= set(COMMANDS)
    assert {name for args, _ in BAD_VALUES for name in args[:1]} >= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unknown_option(command: str, cli: BoundedCLI) -> None:
    result = cli.run(command, "--no-such-option", cwd=ROOT, timeout_s=30)
    _one_line_usage_error(result, "No such option: --no-such-option")
    assert f"{command} --help" in result.stderr


@pytest.mark.parametrize("command", REQUIRED)
def test_missing_argument(command: str, cli: BoundedCLI) -> None:
    _one_line_usage_error(cli.run(command, cwd=ROOT, timeout_s=30), "Missing")


@pytest.mark.parametrize("args, phrase", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_malformed_value(args: list[str], phrase: str, cli: BoundedCLI, tmp_path: Path) -> None:
    _one_line_usage_error(cli.run(*args, cwd=ROOT, timeout_s=30), phrase)
    assert not (ROOT / "x").exists(), "a refused command must not create its output folder"

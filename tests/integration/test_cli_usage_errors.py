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
    (["run", "scenarios/hospital_surge.yaml", "--seed", "-5"], "greater than or equal to 0"),
    (["run", "scenarios/hospital_surge.yaml", "--strategy"], "requires an argument"),
    (["validate", "scenarios/hospital_surge.yaml", "extra.yaml"], "unexpected extra argument"),
    (["schema", "--output"], "requires an argument"),
    (["sweep", "scenarios/hospital_surge.yaml", "--out", "x", "--scenarios", "0"], "'--scenarios'"),
    (["sweep", "scenarios/hospital_surge.yaml", "--out", "x", "--workers", "many"], "'--workers'"),
    (["sweep", "scenarios/hospital_surge.yaml"], "'--out'"),
    (["rank", "some/folder", "--confidence", "high"], "'--confidence'"),
    (["report", "some/folder", "--output"], "requires an argument"),
    (["twin", "scenarios/hospital_surge.yaml", "--particles", "1"], "'--particles'"),
    (["optimize", "scenarios/hospital_surge.yaml"], "'--out'"),
    (["optimize", "scenarios/hospital_surge.yaml", "--out", "x", "--generations", "lots"], "'--generations'"),
    (["dashboard", "--port", "abc"], "'--port'"),
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
    assert {"run", "validate", "schema", "sweep", "rank", "report", "twin", "optimize", "dashboard"} <= set(COMMANDS)
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


def _outside_data_scenario(tmp_path: Path) -> tuple[Path, Path]:
    project, shared = tmp_path / "project", tmp_path / "shared"
    project.mkdir()
    shared.mkdir()
    (shared / "census.csv").write_text("hospital,ward_occupied,icu_occupied\nH1,5,0\n")
    scenario = project / "s.yaml"
    scenario.write_text("twinworld: 1\nname: s\nhorizon: 1d\ndata_dir: ../shared\nsystems:\n  h:\n"
                        "    kind: hospital_region\n    census_csv: census.csv\n"
                        "    hospitals: [{name: H1, ward_beds: 10, arrivals_per_day: 3}]\n")
    return scenario, shared


def test_data_root_option_and_environment_allow_a_data_folder(tmp_path: Path, cli: BoundedCLI) -> None:
    scenario, shared = _outside_data_scenario(tmp_path)
    refused = cli.run("validate", str(scenario), cwd=tmp_path, timeout_s=30)
    assert refused.code == 2 and "data_dir: '../shared' lies outside the scenario's folder" in refused.stderr
    allowed = cli.run("validate", str(scenario), "--data-root", str(shared), cwd=tmp_path, timeout_s=30)
    assert allowed.code == 0 and "ok " in allowed.stdout, allowed.stderr
    with BoundedCLI(env={"TWINWORLD_DATA_ROOT": str(shared)}) as with_env:
        assert with_env.run("validate", str(scenario), cwd=tmp_path, timeout_s=30).code == 0


def test_allow_large_option_lifts_the_run_size_limit(cli: BoundedCLI) -> None:
    big = ["validate", "scenarios/hospital_surge.yaml", "--set", "horizon=3650d",
           "--set", "systems.hospitals.hospitals.0.arrivals_per_day=1e5"]
    refused = cli.run(*big, cwd=ROOT, timeout_s=30)
    assert refused.code == 2 and "one run would process about" in refused.stderr
    allowed = cli.run(*big, "--allow-large", cwd=ROOT, timeout_s=30)
    assert allowed.code == 0 and "largest run: about" in allowed.stdout, allowed.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_every_command_renders(command: str, cli: BoundedCLI) -> None:
    """``--help`` prints the command's help and exits 0 (help text is rich markup: a stray
    ``[/...]`` in a docstring was a traceback)."""
    result = cli.run(command, "--help", cwd=ROOT, timeout_s=30)
    assert not result.timed_out
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"twinworld {command}" in result.stdout and "Options" in result.stdout

"""Every malformed scenario in tests/data/bad_scenarios gives exactly its expected message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli
from twinworld.errors import ScenarioError
from twinworld.scenario import load_scenario

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_scenarios"
CASES = sorted(p.stem for p in CORPUS.glob("*.expected"))


def test_corpus_is_complete() -> None:
    yamls = {p.stem for p in CORPUS.glob("*.yaml")}
    assert yamls - set(CASES) == set(), "every bad scenario needs a .expected message"
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES)
def test_bad_scenario_message(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    expected = (CORPUS / f"{case}.expected").read_text().strip()
    with pytest.raises(ScenarioError) as info:
        load_scenario(f"{case}.yaml")
    message = str(info.value)
    assert message.startswith(expected), f"\nexpected: {expected}\n     got: {message}"
    assert f"{case}.yaml:" in message


@pytest.mark.parametrize("case", ["unknown_field_typo", "yaml_syntax", "census_bad_rows", "missing_file"])
def test_cli_reports_without_traceback(case: str) -> None:
    result = run_cli("validate", f"{case}.yaml", cwd=CORPUS)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    expected = (CORPUS / f"{case}.expected").read_text().strip().splitlines()[0]
    assert result.stderr.startswith("error: " + expected)

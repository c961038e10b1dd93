"""Every bad coupling in tests/data/bad_couplings gives exactly its expected, located error.

Before the declared contract these validated with exit 0 and silently never fired (an unknown bus,
a key nobody publishes, a consumer that is not there) or were accepted (a negative buffer).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli
from twinworld.errors import ScenarioError
from twinworld.scenario import load_scenario

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_couplings"
CASES = sorted(p.stem for p in CORPUS.glob("*.expected"))


def test_corpus_covers_each_kind_of_mistake() -> None:
    assert {p.stem for p in CORPUS.glob("*.yaml")} == set(CASES)
    assert {"unknown_bus", "not_a_service", "unknown_consumer", "negative_buffer", "nan_buffer"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_coupling_message(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    expected = (CORPUS / f"{case}.expected").read_text().strip()
    with pytest.raises(ScenarioError) as info:
        load_scenario(f"{case}.yaml")
    assert str(info.value) == expected
    assert all(p.line is not None and p.path.startswith("couplings.0.") for p in info.value.problems)


@pytest.mark.parametrize("case", ["unknown_bus", "nan_buffer", "unknown_consumer"])
def test_cli_says_it_in_one_error_with_exit_2(case: str) -> None:
    result = run_cli("validate", f"{case}.yaml", cwd=CORPUS)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr == "error: " + (CORPUS / f"{case}.expected").read_text()


def test_a_valid_coupling_still_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    text = (CORPUS / "unknown_bus.yaml").read_text().replace("grid.bus.99999", "grid.bus.4")
    scenario = load_scenario(text)
    assert scenario.couplings[0].provider == "grid.bus.4"

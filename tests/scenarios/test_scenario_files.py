"""Every planner-facing scenario in scenarios/ validates, matches the JSON Schema, and runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
import yaml

from twinworld.experiments.run import run
from twinworld.scenario import load_scenario
from twinworld.scenario.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_there_are_scenarios() -> None:
    assert any(p.name == "hospital_surge.yaml" for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_matches_the_json_schema(path: Path) -> None:
    schema = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_every_strategy(path: Path) -> None:
    scenario = load_scenario(path)
    registry = default_registry()
    results = {name: run(scenario, name, seed=1) for name in scenario.strategies}
    for name, result in results.items():
        assert result.kpis, name
        assert all(math.isfinite(v) for v in result.kpis.values()), (name, result.kpis)
        for kpi in scenario.kpis:
            assert kpi in result.kpis, (name, kpi)
            assert registry.kpi(kpi) is not None
    # The same seed gives every strategy the same sampled disruption (common random numbers).
    assert len({tuple(sorted(r.values.items())) for r in results.values()}) == 1

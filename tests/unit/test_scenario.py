"""Scenario loading, uncertain-parameter paths, resolution, overrides, registry, schema."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ROOT, run_cli
from twinworld.errors import ScenarioError, UnknownKindError
from twinworld.scenario import Registry, load_scenario, resolve, sample_values, uncertainties
from twinworld.scenario.registry import default_registry
from twinworld.scenario.schema import scenario_json_schema

DEFAULT = ROOT / "scenarios" / "hospital_surge.yaml"


def test_default_scenario_paths_and_resolution() -> None:
    scenario = load_scenario(DEFAULT)
    paths = list(uncertainties(scenario))
    assert paths[:3] == ["flu_wave.start", "flu_wave.duration", "flu_wave.multiplier"]
    values = sample_values(scenario, 11)
    assert values == sample_values(scenario, 11)
    resolved = resolve(scenario, values)
    assert uncertainties(resolved) == {}
    assert resolved.disruptions[0].multiplier == values["flu_wave.multiplier"]
    assert 1.1 <= values["flu_wave.multiplier"] <= 1.6
    assert scenario.disruptions[0].multiplier.low == 1.1  # the original is unchanged (frozen)


def test_resolve_rejects_unknown_and_missing_values() -> None:
    scenario = load_scenario(DEFAULT)
    values = sample_values(scenario, 1)
    with pytest.raises(ScenarioError, match="no value given"):
        resolve(scenario, {k: v for k, v in values.items() if k != "flu_wave.start"})
    with pytest.raises(ScenarioError, match="does not have"):
        resolve(scenario, {**values, "nonsense.x": 1.0})


def test_census_csv_is_read_at_load_time() -> None:
    scenario = load_scenario(DEFAULT)
    census = {h.name: (h.census.ward, h.census.icu) for h in scenario.systems["hospitals"].hospitals}
    assert census["Central"] == (338, 25) and census["Lakeside"] == (126, 8)


def test_overrides_edit_dotted_paths() -> None:
    scenario = load_scenario(DEFAULT, overrides=["sweep.scenarios=12", "systems.hospitals.max_wait=6h"])
    assert scenario.sweep.scenarios == 12
    assert scenario.systems["hospitals"].max_wait == 6.0


def test_scenarios_are_frozen() -> None:
    scenario = load_scenario(DEFAULT)
    with pytest.raises(Exception):
        scenario.seed = 3  # type: ignore[misc]


def test_registry_lists_known_kinds_on_unknown() -> None:
    registry = default_registry()
    assert "hospital_region" in registry.kinds
    with pytest.raises(UnknownKindError, match="known: .*hospital_region"):
        registry.get("spaceport")


def test_a_custom_registry_limits_what_loads() -> None:
    empty = Registry()
    with pytest.raises(ScenarioError, match="unknown system kind 'hospital_region'"):
        load_scenario(DEFAULT, registry=empty)


def test_yaml_text_loads_too() -> None:
    text = DEFAULT.read_text()
    assert load_scenario(text, base_dir=DEFAULT.parent).name == load_scenario(DEFAULT).name


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    assert committed == json.loads(json.dumps(scenario_json_schema())), \
        "run: twinworld schema --output schemas/scenario.schema.json"


def test_schema_describes_every_system_kind() -> None:
    schema = scenario_json_schema()
    kinds = {d["properties"]["kind"]["const"] for d in schema["$defs"].values()
             if "kind" in d.get("properties", {}) and "const" in d["properties"]["kind"]}
    assert set(default_registry().kinds) <= kinds
    assert "patient_surge" in kinds


def test_cli_schema_prints_json() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "twinworld scenario"


def test_model_dump_round_trips_plugin_fields() -> None:
    scenario = load_scenario(DEFAULT)
    data = scenario.model_dump(mode="json")
    assert data["systems"]["hospitals"]["hospitals"][0]["ward_beds"] == 420
    assert data["disruptions"][0]["multiplier"] == {"uniform": [1.1, 1.6]}
    assert isinstance(data["strategies"]["combined"]["hospitals"], list)
    again = load_scenario(data, base_dir=DEFAULT.parent)
    assert again.systems == scenario.systems and again.strategies == scenario.strategies
    assert again.disruptions == scenario.disruptions


def test_resolved_scenarios_are_marked_and_rerun_identically() -> None:
    from twinworld.experiments.run import run
    from twinworld.scenario.uncertain import is_resolved

    scenario = load_scenario(DEFAULT)
    values = sample_values(scenario, 4)
    resolved = resolve(scenario, values)
    assert is_resolved(resolved) and not is_resolved(scenario)
    assert run(resolved, "transfer", 4).kpis == run(scenario, "transfer", 4, values=values).kpis

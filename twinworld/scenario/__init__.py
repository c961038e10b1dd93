"""Scenario files: YAML -> typed, frozen pydantic models, validated with file:line:col errors."""

from twinworld.scenario.loader import apply_overrides, load_scenario, scenario_source
from twinworld.scenario.model import Scenario
from twinworld.scenario.registry import Registry, default_registry
from twinworld.scenario.uncertain import resolve, sample_values, uncertainties

__all__ = ["Scenario", "load_scenario", "apply_overrides", "scenario_source", "Registry",
           "default_registry", "uncertainties", "sample_values", "resolve"]

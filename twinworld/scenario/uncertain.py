"""Uncertain parameters of a scenario: find them, sample them, and resolve them to numbers.

Every distribution in a scenario has a stable dotted *path* naming it, used as a column in sweep
results and in scenario discovery:

- system fields: ``<system>.<field>...`` (list items by their ``name`` when they have one):
  ``hospitals.hospitals.H1.ward_beds``
- disruptions: ``<label>.<field>`` where the label is the disruption's ``name`` or its kind:
  ``patient_surge.multiplier``
- strategies: ``strategy.<name>.<system>.<field>``; couplings: ``coupling<i>.<field>``
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from twinworld.core.rng import RandomStreams
from twinworld.errors import ScenarioError
from twinworld.params import Dist

__all__ = ["uncertainties", "resolve", "sample_values", "is_resolved"]


def _item_key(item: Any, index: int) -> str:
    name = getattr(item, "name", None)
    return str(name) if isinstance(name, str) and name else str(index)


def _walk(obj: Any, path: str) -> Iterator[tuple[str, Dist]]:
    if isinstance(obj, Dist):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for field in type(obj).model_fields:
            yield from _walk(getattr(obj, field), f"{path}.{field}" if path else field)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{path}.{_item_key(item, i)}")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _walk(item, f"{path}.{key}")


def _sections(scenario: Any) -> Iterator[tuple[str, Any]]:
    for name, config in scenario.systems.items():
        yield name, config
    for i, disruption in enumerate(scenario.disruptions):
        yield scenario.disruption_label(i), disruption
    for i, coupling in enumerate(scenario.couplings):
        yield f"coupling{i}", coupling
    for name, parts in scenario.strategies.items():
        for system, levers in parts.items():
            for j, lever in enumerate(levers):
                prefix = f"strategy.{name}.{system}" + (f".{j}" if len(levers) > 1 else "")
                yield prefix, lever


def uncertainties(scenario: Any) -> dict[str, Dist]:
    """Every uncertain parameter of the scenario, by path, in file order."""
    if getattr(scenario, "_resolved", False):
        return {}
    found: dict[str, Dist] = {}
    for prefix, section in _sections(scenario):
        for path, dist in _walk(section, prefix):
            found[path] = dist
    return found


def sample_values(scenario: Any, seed: int) -> dict[str, float]:
    """One scenario sample: each parameter drawn from its own stream of ``seed`` (stable per path)."""
    streams = RandomStreams(seed)
    return {path: dist.sample(streams.get("scenario", path))
            for path, dist in uncertainties(scenario).items()}


def _replace(obj: Any, path: str, values: Mapping[str, float], used: set[str]) -> Any:
    if isinstance(obj, Dist):
        if path not in values:
            raise ScenarioError.single(f"no value given for uncertain parameter {path!r}", path=path)
        used.add(path)
        return float(values[path])
    if isinstance(obj, BaseModel):
        updates = {}
        for field in type(obj).model_fields:
            old = getattr(obj, field)
            new = _replace(old, f"{path}.{field}" if path else field, values, used)
            if new is not old:
                updates[field] = new
        return obj.model_copy(update=updates) if updates else obj
    if isinstance(obj, (list, tuple)):
        new_items = [_replace(item, f"{path}.{_item_key(item, i)}", values, used)
                     for i, item in enumerate(obj)]
        if all(a is b for a, b in zip(new_items, obj)):
            return obj
        return type(obj)(new_items)
    if isinstance(obj, dict):
        new_map = {k: _replace(v, f"{path}.{k}", values, used) for k, v in obj.items()}
        return obj if all(new_map[k] is obj[k] for k in obj) else new_map
    return obj


def resolve(scenario: Any, values: Mapping[str, float]) -> Any:
    """A copy of ``scenario`` with every distribution replaced by its value in ``values``."""
    used: set[str] = set()
    systems = {name: _replace(cfg, name, values, used) for name, cfg in scenario.systems.items()}
    disruptions = [_replace(d, scenario.disruption_label(i), values, used)
                   for i, d in enumerate(scenario.disruptions)]
    couplings = [_replace(c, f"coupling{i}", values, used) for i, c in enumerate(scenario.couplings)]
    strategies = {}
    for name, parts in scenario.strategies.items():
        strategies[name] = {
            system: tuple(_replace(lever, f"strategy.{name}.{system}" + (f".{j}" if len(levers) > 1 else ""),
                                   values, used) for j, lever in enumerate(levers))
            for system, levers in parts.items()}
    unknown = set(values) - used - set(uncertainties(scenario))
    if unknown:
        raise ScenarioError.single(f"values given for parameters the scenario does not have: "
                                   f"{sorted(unknown)}", valid=", ".join(uncertainties(scenario)))
    resolved = scenario.model_copy(update={"systems": systems, "disruptions": disruptions,
                                           "couplings": couplings, "strategies": strategies})
    resolved._resolved = True
    return resolved


def is_resolved(scenario: Any) -> bool:
    """True when the scenario holds no distributions (cheap for the output of :func:`resolve`)."""
    return bool(getattr(scenario, "_resolved", False)) or not uncertainties(scenario)

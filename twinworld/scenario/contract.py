"""Checks of a scenario against what its system plugins declare (the system contract).

Every plugin declares its elements, the services it publishes, the coupling kinds its elements
accept and which element types each disruption kind may hit. This module checks, once and for
every system alike:

- a disruption's ``target`` names the system or one of its elements of an allowed type;
- every field of a disruption or strategy that names elements (:func:`~twinworld.systems.base.element_field`)
  names existing elements of the right type;
- a coupling's ``provider`` is a service the provider system publishes, for elements it has;
  its ``consumer`` is a system or element whose type accepts the coupling's kind; ``power``
  couplings read a level (0..1), not a quantity;
- the kind-specific checks a disruption or lever declares (``check(system_config)``) and the
  plugin's own consistency check of its section.

The elements of each system are computed once per load (a grid's buses come from its case).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from twinworld.coupling import FEED_KINDS
from twinworld.errors import Problem, name_list
from twinworld.systems.base import SYSTEM, element_refs, target_element, target_system

if TYPE_CHECKING:
    from twinworld.scenario.model import Scenario
    from twinworld.scenario.registry import Registry
    from twinworld.systems.base import SystemPlugin

__all__ = ["check_contract", "system_elements", "valid_names"]

_SHOWN = 12   # names listed in a "valid:" hint before it says how many more there are


def valid_names(names: list[str], *, wrong: str | None = None) -> str:
    """Names for a ``valid:`` hint (see :func:`twinworld.errors.name_list`)."""
    return name_list(names, wrong=wrong, limit=_SHOWN)


def target_hint(system: str, *, whole: bool, names: list[str], wrong: str | None = None) -> str:
    """``hospitals, or hospitals.<one of H1, H2>`` for a ``valid:`` hint on a target."""
    parts = [system] if whole else []
    if len(names) == 1:
        parts.append(f"{system}.{names[0]}")
    elif names:
        parts.append(f"{system}.<one of {valid_names(names, wrong=wrong)}>")
    return ", or ".join(parts)


def system_elements(scenario: Scenario, registry: Registry) -> dict[str, Mapping[str, str]]:
    """Element name -> element type, for every system of a (prepared) scenario."""
    return {name: registry.get(config.kind).elements(config) for name, config in scenario.systems.items()}


def check_contract(scenario: Scenario, registry: Registry) -> list[Problem]:
    """Every problem of the scenario against its plugins' declarations (paths from the root)."""
    elements = system_elements(scenario, registry)
    problems: list[Problem] = []
    for name, config in scenario.systems.items():
        plugin = registry.get(config.kind)
        if plugin.check is not None:
            problems += _prefixed(plugin.check(config), f"systems.{name}")
    problems += _disruption_problems(scenario, registry, elements)
    problems += _strategy_problems(scenario, registry, elements)
    problems += _coupling_problems(scenario, registry, elements)
    return problems


def _prefixed(problems: list[Problem], prefix: str) -> list[Problem]:
    return [Problem(p.message, f"{prefix}.{p.path}" if p.path else prefix, p.line, p.column, p.valid)
            for p in problems]


def _typed(elements: Mapping[str, str], wanted: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the wanted element types, in natural order (``B2`` before ``B10``)."""
    return sorted((name for name, kind in elements.items() if kind in wanted), key=_natural)


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _reference_problems(model: Any, system: str, elements: Mapping[str, str], path: str) -> list[Problem]:
    problems = []
    for field, element_type, names in element_refs(model):
        valid = _typed(elements, [element_type])
        for bad in [n for n in names if elements.get(n) != element_type]:
            what = (f"{bad!r} is a {elements[bad]}, not a {element_type}, in {system!r}" if bad in elements
                    else f"no {element_type} {bad!r} in {system!r}")
            problems.append(Problem(what, f"{path}.{field}",
                                    valid=valid_names(valid, wrong=bad) or f"(no {element_type} in {system!r})"))
    return problems


def _disruption_problems(scenario: Scenario, registry: Registry,
                         elements: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    for i, disruption in enumerate(scenario.disruptions):
        system = target_system(disruption.target)
        config = scenario.systems[system]
        own = elements[system]
        element = target_element(disruption.target)
        allowed = type(disruption).targets
        where = f"disruptions.{i}"
        kind_of = SYSTEM if element is None else own.get(element)
        target_ok = kind_of in allowed
        if not target_ok:
            hint = target_hint(system, whole=SYSTEM in allowed, names=_typed(own, allowed), wrong=element)
            if element is not None and kind_of is None:
                named = [t for t in allowed if t != SYSTEM]
                what = (f"no {named[0]} {element!r} in {system!r}" if len(named) == 1
                        else f"system {system!r} has no element {element!r}")
            elif element is None:
                what = f"{disruption.kind} needs one element of {system!r}, not the whole system"
            else:
                what = f"{disruption.kind} cannot hit {element!r}, a {kind_of}"
            problems.append(Problem(what, f"{where}.target",
                                    valid=hint or f"(nothing in {system!r} that {disruption.kind} can hit)"))
        problems += _reference_problems(disruption, system, own, where)
        if target_ok:
            problems += _prefixed(disruption.check(config), where)
    return problems


def _strategy_problems(scenario: Scenario, registry: Registry,
                       elements: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    for strategy, parts in scenario.strategies.items():
        for system, levers in parts.items():
            config = scenario.systems[system]
            for j, lever in enumerate(levers):
                where = f"strategies.{strategy}.{system}" + (f".{j}" if len(levers) > 1 else "")
                problems += _reference_problems(lever, system, elements[system], where)
                problems += _prefixed(lever.check(config), where)
    return problems


def _coupling_problems(scenario: Scenario, registry: Registry,
                       elements: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    for i, coupling in enumerate(scenario.couplings):
        where = f"couplings.{i}"
        problems += _provider_problems(coupling, scenario, registry, elements, f"{where}.provider")
        problems += _consumer_problems(coupling, scenario, registry, elements, f"{where}.consumer")
    return problems


def _provider_problems(coupling: Any, scenario: Scenario, registry: Registry,
                       elements: Mapping[str, Mapping[str, str]], path: str) -> list[Problem]:
    key = str(coupling.provider)
    system, _, rest = key.partition(".")
    if system not in scenario.systems:
        return [Problem(f"provider {key!r} names no system of this scenario", path,
                        valid=", ".join(scenario.systems))]
    plugin = registry.get(scenario.systems[system].kind)
    family = plugin.family_for(rest)
    if family is not None:
        if coupling.kind not in FEED_KINDS or coupling.kind not in family.kinds:
            return [Problem(f"{key!r} names every key of {system}.{family.pattern}; only a "
                            f"{' or '.join(k for k in family.kinds if k in FEED_KINDS) or 'quantity'} "
                            f"coupling can take them all", path,
                            valid=f"one key, e.g. {system}.{family.pattern}")]
        return []
    found = plugin.service_for(rest, elements[system])
    if found is None:
        return [Problem(f"{key!r} is not a service that {system!r} ({plugin.kind}) publishes", path,
                        valid=_service_hint(plugin, system, elements[system], rest))]
    service, _ = found
    if coupling.kind not in service.kinds:
        drivers = [f"{system}.{s.pattern}" for s in plugin.services if coupling.kind in s.kinds]
        return [Problem(f"{key!r} ({service.meaning}) cannot drive a {coupling.kind!r} coupling; it drives "
                        f"{', '.join(service.kinds) or 'none'}", path,
                        valid=", ".join(drivers) or f"(no service of {system!r} drives {coupling.kind})")]
    if not service.is_level and coupling.kind not in FEED_KINDS:
        return [Problem(f"a {coupling.kind} coupling reads a service level (0..1); {key!r} is a quantity "
                        f"in {service.unit}", path,
                        valid=_service_hint(plugin, system, elements[system], rest, levels_only=True))]
    return []


def _service_hint(plugin: SystemPlugin, system: str, elements: Mapping[str, str], rest: str, *,
                  levels_only: bool = False) -> str:
    """The declared patterns, and for the closest pattern some keys that exist."""
    services = [s for s in plugin.services if s.is_level or not levels_only]
    if not services:
        return f"({plugin.kind} publishes no {'levels' if levels_only else 'services'})"
    patterns = [f"{system}.{s.pattern} ({s.meaning}; {s.unit})" for s in services]
    head = rest.split(".", 1)[0]
    closest = next((s for s in services if s.parts[0] == head), services[0])
    if len(closest.element_types) == 1:
        names = _typed(elements, closest.element_types)
        examples = [closest.key(system, n) for n in names]
        wrong = f"{system}.{rest}"
        return "; ".join(patterns) + (f"; e.g. {valid_names(examples, wrong=wrong)}" if examples else "")
    return "; ".join(patterns)


def _consumer_problems(coupling: Any, scenario: Scenario, registry: Registry,
                       elements: Mapping[str, Mapping[str, str]], path: str) -> list[Problem]:
    target = str(coupling.consumer)
    system, element = target_system(target), target_element(target)
    if system not in scenario.systems:
        return [Problem(f"consumer {target!r} names no system of this scenario", path,
                        valid=", ".join(scenario.systems))]
    plugin = registry.get(scenario.systems[system].kind)
    own = elements[system]
    element_type = SYSTEM if element is None else own.get(element)
    accepting = [c.element_type for c in plugin.consumes if coupling.kind in c.kinds]
    hint = (target_hint(system, whole=SYSTEM in accepting, names=_typed(own, accepting), wrong=element)
            or f"(nothing in {system!r} consumes {coupling.kind})")
    if element_type is None:
        named = [t for t in accepting if t != SYSTEM]
        what = (f"no {named[0]} {element!r} in {system!r}" if len(set(named)) == 1
                else f"system {system!r} has no element {element!r}")
        kind_word, _, rest = str(element).partition(".")
        if own.get(rest) == kind_word:
            what += f"; a consumer names the element without its type: {system}.{rest}"
        return [Problem(what, path, valid=hint)]
    if coupling.kind not in plugin.consumer_kinds(element_type):
        what = "the whole system" if element_type == SYSTEM else f"a {element_type}"
        kinds = sorted(plugin.consumer_kinds(element_type))
        return [Problem(f"{target!r} ({what}) cannot consume a {coupling.kind!r} coupling"
                        + (f"; it consumes {', '.join(kinds)}" if kinds else ""), path, valid=hint)]
    return []

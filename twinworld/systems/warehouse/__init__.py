"""A supply network: suppliers, ports, warehouses and customers joined by transport lanes."""

from __future__ import annotations

from typing import Any

from twinworld.errors import Problem
from twinworld.systems.base import SystemPlugin, target_element, target_system
from twinworld.systems.warehouse.config import SupplyNetworkConfig
from twinworld.systems.warehouse.disruptions import DISRUPTIONS, ELEMENT_ROLES
from twinworld.systems.warehouse.kpis import KPIS
from twinworld.systems.warehouse.model import SupplyNetwork
from twinworld.systems.warehouse.network import build_graph, unreachable_customers
from twinworld.systems.warehouse.strategies import STRATEGIES, DualSourcing, Expedite, SafetyStock
from twinworld.systems.warehouse.workload import estimate_events

__all__ = ["plugin", "SupplyNetwork", "SupplyNetworkConfig", "check"]


def _node_problems(name: str, config: SupplyNetworkConfig) -> list[Problem]:
    roles = config.roles()
    nodes = ", ".join(roles)
    where = f"systems.{name}"
    problems = []
    for i, lane in enumerate(config.lanes):
        for end in ("origin", "destination"):
            node = getattr(lane, end)
            if node not in roles:
                problems.append(Problem(f"lane {lane.label!r}: unknown node {node!r}",
                                        f"{where}.lanes.{i}.{end}", valid=nodes))
        if lane.origin == lane.destination:
            problems.append(Problem(f"lane {lane.label!r} goes from a node to itself", f"{where}.lanes.{i}"))
        if roles.get(lane.destination) == "supplier" or roles.get(lane.origin) == "customer":
            problems.append(Problem(f"lane {lane.label!r} runs into a supplier or out of a customer",
                                    f"{where}.lanes.{i}", valid="supplier -> port/warehouse -> customer"))
    for i, wh in enumerate(config.warehouses):
        for j, source in enumerate(wh.sources):
            if roles.get(source) not in ("supplier", "warehouse") or source == wh.name:
                problems.append(Problem(f"warehouse {wh.name!r}: source {source!r} is not a supplier or "
                                        "another warehouse", f"{where}.warehouses.{i}.sources.{j}",
                                        valid=", ".join(n for n, r in roles.items()
                                                        if r in ("supplier", "warehouse") and n != wh.name)))
    for i, customer in enumerate(config.customers):
        if customer.served_by is not None and roles.get(customer.served_by) != "warehouse":
            problems.append(Problem(f"customer {customer.name!r}: {customer.served_by!r} is not a warehouse",
                                    f"{where}.customers.{i}.served_by",
                                    valid=", ".join(w.name for w in config.warehouses)))
    return problems


def _reach_problems(name: str, config: SupplyNetworkConfig) -> list[Problem]:
    graph = build_graph(config)
    index = {c.name: i for i, c in enumerate(config.customers)}
    return [Problem(f"customer {customer!r} cannot be reached: it {why}",
                    f"systems.{name}.customers.{index[customer]}",
                    valid="a lane from a warehouse that a supplier reaches through lanes")
            for customer, why in unreachable_customers(graph, config).items()]


def _target_problems(scenario: Any, name: str, config: SupplyNetworkConfig) -> list[Problem]:
    roles = {**config.roles(), **{label: "lane" for label in config.lane_labels()}}
    problems = []
    for i, disruption in enumerate(scenario.disruptions):
        if target_system(disruption.target) != name:
            continue
        element = target_element(disruption.target)
        allowed = ELEMENT_ROLES.get(disruption.kind, ())
        role = "network" if element is None else roles.get(element)
        if role not in allowed:
            choices = [f"{name}.{e}" for e, r in roles.items() if r in allowed]
            if "network" in allowed:
                choices.insert(0, name)
            what = f"no element {element!r}" if role is None else f"{element!r} is a {role}"
            problems.append(Problem(f"{disruption.kind} cannot target {disruption.target!r}: {what}",
                                    f"disruptions.{i}.target", valid=", ".join(choices[:12])
                                    + (", ..." if len(choices) > 12 else "")))
    return problems


def _strategy_problems(scenario: Any, name: str, config: SupplyNetworkConfig) -> list[Problem]:
    warehouses = {w.name: w for w in config.warehouses}
    problems = []
    for strategy, parts in scenario.strategies.items():
        levers = parts.get(name, ())
        for j, lever in enumerate(levers):
            where = f"strategies.{strategy}.{name}" + (f".{j}" if len(levers) > 1 else "")
            listed = getattr(lever, "warehouses", None) if isinstance(lever, (Expedite, SafetyStock, DualSourcing)) else None
            for bad in sorted(set(listed or []) - set(warehouses)):
                problems.append(Problem(f"no warehouse {bad!r}", f"{where}.warehouses", valid=", ".join(warehouses)))
            if isinstance(lever, DualSourcing):
                chosen = listed or list(warehouses)
                if not any(len(warehouses[w].sources) > 1 for w in chosen if w in warehouses):
                    problems.append(Problem("dual_sourcing needs a warehouse with two sources",
                                            where, valid="give a warehouse `sources: [primary, secondary]`"))
    return problems


def check(scenario: Any, name: str, config: SupplyNetworkConfig) -> list[Problem]:
    """Lanes name real nodes, every customer is reachable, targets and levers name real elements."""
    problems = _node_problems(name, config)
    if not problems:
        problems += _reach_problems(name, config)
    return problems + _target_problems(scenario, name, config) + _strategy_problems(scenario, name, config)


def elements(config: SupplyNetworkConfig) -> list[str]:
    """Targetable elements: node names and lane labels."""
    return [*config.node_names(), *config.lane_labels()]


plugin = SystemPlugin(
    kind="supply_network",
    config=SupplyNetworkConfig,
    build=SupplyNetwork,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    check=check,
    description="Suppliers, ports, warehouses and customers on transport lanes, with inventory "
                "policies, backorders or lost sales, and disruptions that close ports and lanes.",
    elements=elements,
)

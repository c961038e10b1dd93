"""A supply network: suppliers, ports, warehouses and customers joined by transport lanes."""

from __future__ import annotations

import math

from twinworld.errors import Problem
from twinworld.systems.base import SYSTEM, Consumes, Service, SystemPlugin
from twinworld.systems.warehouse.config import SupplyNetworkConfig
from twinworld.systems.warehouse.example import example
from twinworld.systems.warehouse.disruptions import DISRUPTIONS
from twinworld.systems.warehouse.kpis import KPIS
from twinworld.systems.warehouse.model import STREAMS, SupplyNetwork
from twinworld.systems.warehouse.state import SupplyNetworkState
from twinworld.systems.warehouse.network import build_graph, unreachable_customers
from twinworld.systems.warehouse.strategies import STRATEGIES
from twinworld.systems.warehouse.workload import estimate_events

__all__ = ["plugin", "SupplyNetwork", "SupplyNetworkConfig", "SupplyNetworkState", "check"]


def _node_problems(config: SupplyNetworkConfig) -> list[Problem]:
    roles = config.roles()
    nodes = ", ".join(roles)
    problems = []
    for i, lane in enumerate(config.lanes):
        for end in ("origin", "destination"):
            node = getattr(lane, end)
            if node not in roles:
                problems.append(Problem(f"lane {lane.label!r}: unknown node {node!r}",
                                        f"lanes.{i}.{end}", valid=nodes))
        if lane.origin == lane.destination:
            problems.append(Problem(f"lane {lane.label!r} goes from a node to itself", f"lanes.{i}"))
        if roles.get(lane.destination) == "supplier" or roles.get(lane.origin) == "customer":
            problems.append(Problem(f"lane {lane.label!r} runs into a supplier or out of a customer",
                                    f"lanes.{i}", valid="supplier -> port/warehouse -> customer"))
    for i, wh in enumerate(config.warehouses):
        for j, source in enumerate(wh.sources):
            if roles.get(source) not in ("supplier", "warehouse") or source == wh.name:
                problems.append(Problem(f"warehouse {wh.name!r}: source {source!r} is not a supplier or "
                                        "another warehouse", f"warehouses.{i}.sources.{j}",
                                        valid=", ".join(n for n, r in roles.items()
                                                        if r in ("supplier", "warehouse") and n != wh.name)))
    for i, customer in enumerate(config.customers):
        if customer.served_by is not None and roles.get(customer.served_by) != "warehouse":
            problems.append(Problem(f"customer {customer.name!r}: {customer.served_by!r} is not a warehouse",
                                    f"customers.{i}.served_by",
                                    valid=", ".join(w.name for w in config.warehouses)))
    return problems


def _reach_problems(config: SupplyNetworkConfig) -> list[Problem]:
    graph = build_graph(config)
    index = {c.name: i for i, c in enumerate(config.customers)}
    return [Problem(f"customer {customer!r} cannot be reached: it {why}",
                    f"customers.{index[customer]}",
                    valid="a lane from a warehouse that a supplier reaches through lanes")
            for customer, why in unreachable_customers(graph, config).items()]


def check(config: SupplyNetworkConfig) -> list[Problem]:
    """Lanes name real nodes and every customer is reachable (paths relative to the section)."""
    problems = _node_problems(config)
    if not problems:
        problems += _reach_problems(config)
    return problems


def locations(config: SupplyNetworkConfig) -> dict[str, tuple[float, float]]:
    """Nodes that carry a ``location``."""
    return {n.name: n.location for group in (config.suppliers, config.ports, config.warehouses, config.customers)
            for n in group if n.location is not None}


def elements(config: SupplyNetworkConfig) -> dict[str, str]:
    """Targetable elements: nodes by role (supplier, port, warehouse, customer) and lanes."""
    return {**config.roles(), **{label: "lane" for label in config.lane_labels()}}


plugin = SystemPlugin(
    kind="supply_network",
    config=SupplyNetworkConfig,
    build=SupplyNetwork,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    elements=elements,
    element_types={"supplier": "a supplier dispatching to warehouses", "port": "a port ships pass through",
                   "warehouse": "a warehouse holding stock", "customer": "a customer placing orders",
                   "lane": "a transport lane between two nodes (origin->destination, or its name)"},
    services=(
        Service("available.{warehouse}", "1 while the warehouse has stock, 0 when it is empty",
                kinds=("supply",)),
        Service("stock.{warehouse}", "units on hand at the warehouse", unit="units", high=math.inf,
                kinds=("supply",)),
    ),
    consumes=(Consumes("warehouse", ("power",),
                       "cold storage: the stock the warehouse can hold (the rest spoils)", criticality=3),
              Consumes("port", ("port_supply",), "the port's handling: closed while the port system is, "
                                                 "delayed by its anchorage wait"),
              Consumes(SYSTEM, ("road_travel",), "transit times of road lanes between located nodes")),
    observable=SupplyNetworkState,
    streams=STREAMS,
    check=check,
    example=example,
    locations=locations,
    description="Suppliers, ports, warehouses and customers on transport lanes, with inventory "
                "policies, backorders or lost sales, and disruptions that close ports and lanes.",
)

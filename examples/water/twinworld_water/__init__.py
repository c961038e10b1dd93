"""A water network for twinworld, written outside the package as any third party would.

Registered by one entry point in pyproject.toml (``water_network = "twinworld_water:plugin"``);
``docs/extending.md`` walks through each part of the declared contract below.
"""

from __future__ import annotations

import math
from typing import Any

from twinworld.errors import Problem
from twinworld.systems.base import KPI, SYSTEM, Consumes, Direction, Service, SystemPlugin
from twinworld_water.config import WaterNetworkConfig
from twinworld_water.levers import DISRUPTIONS, STRATEGIES
from twinworld_water.model import STREAMS, WaterNetwork, WaterState

__all__ = ["plugin", "WaterNetwork", "WaterNetworkConfig", "WaterState"]


def elements(config: WaterNetworkConfig) -> dict[str, str]:
    """What ``water.<element>`` may name: tanks, pumps and zones."""
    return {**{t.name: "tank" for t in config.tanks}, **{p.name: "pump" for p in config.pumps},
            **{z.name: "zone" for z in config.zones}}


def check(config: WaterNetworkConfig) -> list[Problem]:
    """Pumps and zones must name tanks of the section (paths relative to it)."""
    tanks = [t.name for t in config.tanks]
    problems = [Problem(f"no tank {p.tank!r}", f"pumps.{i}.tank", valid=", ".join(tanks))
                for i, p in enumerate(config.pumps) if p.tank not in tanks]
    problems += [Problem(f"no tank {z.tank!r}", f"zones.{i}.tank", valid=", ".join(tanks))
                 for i, z in enumerate(config.zones) if z.tank not in tanks]
    return problems


def example() -> dict[str, Any]:
    """A small network using every disruption and strategy (run by twinworld's contract test)."""
    return {
        "name": "water", "horizon": "3d",
        "system": {"kind": "water_network",
                   "tanks": [{"name": "Hill", "capacity_m3": 4000}, {"name": "Low", "capacity_m3": 1500}],
                   "pumps": [{"name": "P1", "tank": "Hill", "rate_m3_h": 260},
                             {"name": "P2", "tank": "Low", "rate_m3_h": 90}],
                   "zones": [{"name": "Centre", "tank": "Hill", "demand_m3_h": 220},
                             {"name": "Harbour", "tank": "Low", "demand_m3_h": 80}]},
        "disruptions": [{"kind": "pump_failure", "target": "water.P1", "start": "12h", "duration": "20h"},
                        {"kind": "main_break", "target": "water.Harbour", "start": "1d", "duration": "6h",
                         "leak_m3_h": 60}],
        "strategies": {"save": {"kind": "conservation", "below_share": 0.5},
                       "diesel": {"kind": "backup_generators", "pumps": ["P1"]}},
    }


MINIMIZE, MAXIMIZE = Direction.MINIMIZE, Direction.MAXIMIZE

plugin = SystemPlugin(
    kind="water_network",
    config=WaterNetworkConfig,
    build=WaterNetwork,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=(KPI("unmet_demand_m3", MINIMIZE, "m3", "water wanted but not delivered"),
          KPI("zone_hours_dry", MINIMIZE, "zone-h", "hours a zone got less than half its demand"),
          KPI("min_tank_share", MAXIMIZE, "share", "lowest tank level reached, as a share of its volume")),
    elements=elements,
    element_types={"tank": "a storage tank", "pump": "a pumping station (needs power)",
                   "zone": "a demand zone"},
    services=(Service("pressure.{zone}", "1 while the zone gets at least half its demand, else 0",
                      kinds=("supply",)),
              Service("level.{tank}", "water in the tank", unit="m3", high=math.inf, kinds=("supply",))),
    consumes=(Consumes("pump", ("power",), "the pump's flow", criticality=4),
              Consumes(SYSTEM, ("power",), "every pump's flow", criticality=4)),
    observable=WaterState,
    streams=STREAMS,
    check=check,
    example=example,
    description="Tanks filled by pumps that need grid power; demand zones with a daily pattern.",
)

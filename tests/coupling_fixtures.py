"""A deterministic provider for coupling stories: a ``schedule`` system whose ``feed`` level is 0
during fixed windows (a bus that goes dark, a warehouse that runs dry, a port that closes)."""

from __future__ import annotations

from typing import Any, Literal

from twinworld.scenario import Registry
from twinworld.scenario.registry import default_registry
from twinworld.systems.base import Service, System, SystemConfig, SystemPlugin

__all__ = ["ScheduleConfig", "schedule_plugin", "registry_with_schedule"]


class ScheduleConfig(SystemConfig):
    kind: Literal["schedule"]
    outages_h: list[tuple[float, float]] = []


class Schedule(System):
    kind = "schedule"

    def start(self) -> None:
        key = f"{self.name}.feed"
        self.world.services.publish(key, 1.0)
        for start, end in self.config.outages_h:
            self.world.at(start, lambda: self.world.services.publish(key, 0.0))
            self.world.at(end, lambda: self.world.services.publish(key, 1.0))


def _build(world: Any, name: str, config: ScheduleConfig) -> Schedule:
    return Schedule(world, name, config)


schedule_plugin = SystemPlugin(kind="schedule", config=ScheduleConfig, build=_build,
                               services=(Service("feed", "1 while the feed is up, 0 in the windows",
                                                 kinds=("power", "supply", "port_supply")),))


def registry_with_schedule() -> Registry:
    registry = Registry(list(default_registry()))
    registry.register(schedule_plugin)
    return registry

"""A water network on the World's clock: each hour pumps fill tanks and zones draw from them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import Field

from twinworld.systems.base import DisruptionConfig, ObservedState, StrategyConfig, System, target_element
from twinworld_water.config import WaterNetworkConfig
from twinworld_water.levers import BackupGenerators, Conservation, MainBreak, PumpFailure

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["WaterNetwork", "WaterState", "STREAMS", "DAILY_PATTERN"]

STREAMS = ("demand",)
#: Relative demand by hour of day (mean 1): a night low, morning and evening peaks.
DAILY_PATTERN = np.array([0.5, 0.45, 0.4, 0.4, 0.45, 0.6, 0.9, 1.3, 1.45, 1.3, 1.15, 1.1,
                          1.1, 1.05, 1.0, 1.0, 1.05, 1.2, 1.35, 1.4, 1.25, 1.0, 0.8, 0.6])
DAILY_PATTERN = DAILY_PATTERN / DAILY_PATTERN.mean()
_DRY = 0.5      # a zone served less than half its demand in an hour counts as dry


class WaterState(ObservedState):
    """Tank levels now (m3) and the pumps that are out (SCADA telemetry)."""

    tanks_m3: dict[str, float] = Field(default_factory=dict)
    pumps_out: list[str] = Field(default_factory=list)


class WaterNetwork(System):
    """The ``water_network`` system."""

    kind = "water_network"

    def __init__(self, world: World, name: str, config: WaterNetworkConfig) -> None:
        super().__init__(world, name, config)
        self.config: WaterNetworkConfig = config
        self.level_m3 = {t.name: t.capacity_m3 * t.initial_share for t in config.tanks}
        self.capacity_m3 = {t.name: t.capacity_m3 for t in config.tanks}
        self.failed: dict[str, set[int | str]] = {p.name: set() for p in config.pumps}
        self.power_loss: dict[str, dict[str, float]] = {p.name: {} for p in config.pumps}
        self.leaks: list[tuple[str, float, float, float]] = []
        self.conservation: Conservation | None = None
        self.backup: dict[str, float] = {}
        self.unmet_m3 = 0.0
        self.dry_zone_h = 0.0
        self.min_share = 1.0
        self.history: list[tuple[float, str, float]] = []

    # ------------------------------------------------------------------ disruptions, levers --
    def disrupt(self, disruption: DisruptionConfig) -> None:
        start, end = disruption.window(self.world.horizon_h)
        element = str(target_element(disruption.target))
        if isinstance(disruption, PumpFailure):
            key = len(self.leaks) + sum(len(s) for s in self.failed.values()) + 1
            self.world.at(start, lambda: self.failed[element].add(key))
            self.world.at(end, lambda: self.failed[element].discard(key))
        elif isinstance(disruption, MainBreak):
            self.leaks.append((element, start, end, float(disruption.leak_m3_h)))  # type: ignore[arg-type]
        else:
            super().disrupt(disruption)

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Conservation):
            self.conservation = strategy
        elif isinstance(strategy, BackupGenerators):
            for pump in strategy.pumps or list(self.failed):
                self.backup[pump] = float(strategy.share)  # type: ignore[arg-type]
        else:
            super().respond(strategy)

    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """Pumps lose ``share_lost`` of their flow while their grid bus is dark (backup kept)."""
        for pump in [element] if element is not None else list(self.power_loss):
            if share_lost > 0:
                self.power_loss[pump][cause] = share_lost
            else:
                self.power_loss[pump].pop(cause, None)

    # ---------------------------------------------------------------------- live state --
    def warm_start(self, state: WaterState) -> None:  # type: ignore[override]
        unknown = sorted((set(state.tanks_m3) - set(self.level_m3)) | (set(state.pumps_out) - set(self.failed)))
        if unknown:
            raise ValueError(f"state names {', '.join(unknown)}, not in {self.name!r}")
        for tank, level in state.tanks_m3.items():
            self.level_m3[tank] = min(max(level, 0.0), self.capacity_m3[tank])
        for pump in state.pumps_out:
            self.failed[pump].add("observed")

    def observe(self) -> WaterState:
        out = [p for p in self.failed if self.pump_share(p) == 0.0]
        return WaterState(tanks_m3=dict(self.level_m3), pumps_out=out)

    # --------------------------------------------------------------------------- running --
    def pump_share(self, pump: str) -> float:
        """Share of its full flow a pump gives now (0 when failed)."""
        if self.failed[pump]:
            return 0.0
        lost = min(1.0, sum(self.power_loss[pump].values()))
        return 1.0 - lost * (1.0 - self.backup.get(pump, 0.0))

    def start(self) -> None:
        self.world.env.process(self._hourly())
        self._publish({z.name: 1.0 for z in self.config.zones})

    def begin_statistics(self) -> None:
        self.unmet_m3 = self.dry_zone_h = 0.0
        self.min_share = min(self.level_m3[t] / self.capacity_m3[t] for t in self.level_m3)

    def _hourly(self) -> Iterator:
        """Process: one hour of pumping and drawing at a time (one simulated hour per step)."""
        rngs = {z.name: self.world.streams.get(self.name, "demand", z.name) for z in self.config.zones}
        while True:
            now = self.world.now
            for pump in self.config.pumps:
                tank = pump.tank
                inflow = float(pump.rate_m3_h) * self.pump_share(pump.name)  # type: ignore[arg-type]
                self.level_m3[tank] = min(self.capacity_m3[tank], self.level_m3[tank] + inflow)
            served = {}
            for zone in self.config.zones:
                want = self._demand_m3(zone.name, now, rngs[zone.name])
                got = min(want, self.level_m3[zone.tank])
                self.level_m3[zone.tank] -= got
                self.unmet_m3 += want - got
                served[zone.name] = got / want if want > 0 else 1.0
                self.dry_zone_h += 1.0 if served[zone.name] < _DRY else 0.0
            for tank, level in self.level_m3.items():
                share = level / self.capacity_m3[tank]
                self.min_share = min(self.min_share, share)
                self.history.append((now, tank, level))
            self._publish(served)
            yield self.world.env.timeout(1.0)

    def _demand_m3(self, zone_name: str, now: float, rng: np.random.Generator) -> float:
        zone = next(z for z in self.config.zones if z.name == zone_name)
        noise = max(0.0, 1.0 + zone.noise_cv * float(rng.standard_normal()))
        want = float(zone.demand_m3_h) * DAILY_PATTERN[int(now) % 24] * noise  # type: ignore[arg-type]
        saving = self.conservation
        if saving is not None and self.level_m3[zone.tank] < float(saving.below_share) * self.capacity_m3[zone.tank]:  # type: ignore[arg-type]
            want *= 1.0 - float(saving.saving_share)  # type: ignore[arg-type]
        leak = sum(m3 for z, s, e, m3 in self.leaks if z == zone_name and s <= now < e)
        return want + leak

    def _publish(self, served: dict[str, float]) -> None:
        publish = self.world.services.publish
        for zone, share in served.items():
            publish(f"{self.name}.pressure.{zone}", 1.0 if share >= _DRY else 0.0)
        for tank, level in self.level_m3.items():
            publish(f"{self.name}.level.{tank}", level)

    # --------------------------------------------------------------------------- results --
    def kpis(self) -> dict[str, float]:
        return {"unmet_demand_m3": self.unmet_m3, "zone_hours_dry": self.dry_zone_h,
                "min_tank_share": self.min_share if math.isfinite(self.min_share) else 0.0}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"tanks": pd.DataFrame(self.history, columns=["time_h", "tank", "level_m3"])}

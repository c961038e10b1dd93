"""Turning a grid's disruptions into timed events, and repair crews restoring what broke.

Random choices come from streams named after the system and the disruption (``grid``,
``line_outage1``), and repair times from one stream per branch, so strategies on one seed face the
same failed lines and the same repair times.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import simpy
from scipy.special import ndtr

from twinworld.errors import ScenarioError
from twinworld.systems.base import DisruptionConfig, target_element
from twinworld.systems.grid.disruptions import Flood, GeneratorTrip, HeatwaveLoad, LineOutage, SubstationLoss

if TYPE_CHECKING:
    from twinworld.systems.grid.model import PowerGrid

__all__ = ["OutagePlanner", "points_in_polygon"]


def points_in_polygon(xy: np.ndarray, polygon: list[tuple[float, float]]) -> np.ndarray:
    """Which points lie inside a polygon (even-odd rule); NaN points are outside."""
    poly = np.asarray(polygon, dtype=float)
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0)):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_at)
    return inside


class OutagePlanner:
    """Schedules one grid's disruptions and runs its repair crews."""

    def __init__(self, grid: "PowerGrid") -> None:
        self.grid = grid
        self.case = grid.case
        self.branch_index = self.case.branch_index()
        self.gen_index = self.case.gen_index()
        self._seen: dict[str, int] = {}
        self._repairs: dict[int, int] = {}

    # --------------------------------------------------------------------- helpers ----
    def _label(self, disruption: DisruptionConfig) -> str:
        if disruption.name:
            return disruption.name
        self._seen[disruption.kind] = self._seen.get(disruption.kind, 0) + 1
        return f"{disruption.kind}{self._seen[disruption.kind]}"

    def _rng(self, label: str) -> np.random.Generator:
        return self.grid.world.streams.get(self.grid.name, "outage", label)

    def _ids(self, names: list[str], index: dict[str, int], what: str, path: str) -> list[int]:
        unknown = [n for n in names if n not in index]
        if unknown:
            raise ScenarioError.single(f"no {what} {', '.join(map(repr, unknown))} in grid {self.case.name!r}",
                                       path=path, valid=self.case.describe_ids(what))
        return [index[n] for n in names]

    def _window(self, disruption: DisruptionConfig) -> tuple[float, float]:
        return disruption.window(self.grid.world.horizon_h)

    # -------------------------------------------------------------------- schedule ----
    def schedule(self, disruption: DisruptionConfig) -> None:
        label = self._label(disruption)
        element = target_element(disruption.target)
        if isinstance(disruption, LineOutage):
            self._line_outage(disruption, label, element)
        elif isinstance(disruption, GeneratorTrip):
            self._generator_trip(disruption, label, element)
        elif isinstance(disruption, (SubstationLoss, Flood)):
            self._substations(disruption, label, element)
        elif isinstance(disruption, HeatwaveLoad):
            start, end = self._window(disruption)
            self.grid.heatwaves.append((start, end, float(disruption.multiplier),
                                        float(disruption.rating_derate)))
            self.grid.world.at(start, self.grid.update)
            self.grid.world.at(end, self.grid.update)
        else:
            raise NotImplementedError(f"power_grid cannot take disruption {disruption.kind!r}")

    def _line_outage(self, d: LineOutage, label: str, element: str | None) -> None:
        rng = self._rng(label)
        engine = self.grid.engine
        candidates = engine.base_in.copy()
        if not d.include_transformers:
            candidates &= np.array([b.startswith("L") for b in self.case.branch_ids])
        pool = np.flatnonzero(candidates)
        if d.lines is not None or element is not None:
            lines = self._ids(d.lines if d.lines is not None else [element], self.branch_index,
                              "line", "lines" if d.lines is not None else "target")
        elif d.count is not None:
            k = min(int(round(float(d.count))), pool.size)
            lines = sorted(rng.choice(pool, size=k, replace=False).tolist())
        elif d.wind_speed_ms is not None:
            wind = float(d.wind_speed_ms)
            p_fail = ndtr(math.log(max(wind, 1e-9) / d.fragility_median_ms) / d.fragility_beta)
            lines = pool[rng.random(pool.size) < p_fail].tolist()
        else:
            raise ScenarioError.single("line_outage needs lines, count or wind_speed_ms (or a target "
                                       "element such as grid.L12)", path="lines")
        start, end = self._window(d)
        spread = float(d.spread)
        delays = rng.uniform(0.0, spread, size=len(lines)) if spread > 0 else np.zeros(len(lines))
        timed = d.duration is not None
        for k, delay in zip(lines, delays):
            self.grid.world.at(start + delay, lambda k=k: self._fail(k, label, timed))
            if timed and end < self.grid.world.horizon_h:
                self.grid.world.at(end, lambda k=k: self._restore(k, f"damage:{label}"))

    def _fail(self, k: int, label: str, timed: bool) -> None:
        grid = self.grid
        hold = f"damage:{label}"
        if any(h.startswith("damage:") for h in grid.holds[k]):
            return
        grid.lines_damaged += 1
        grid.set_hold([k], hold, True)
        grid.record("damage", self.case.branch_ids[k], label)
        grid.update()
        if not timed:
            self.request_repair(k, hold, self._repair_time(k))

    def _restore(self, k: int, hold: str) -> None:
        if hold in self.grid.holds[k]:
            self.grid.set_hold([k], hold, False)
            self.grid.record("restored", self.case.branch_ids[k], hold)
            self.grid.update()

    def _generator_trip(self, d: GeneratorTrip, label: str, element: str | None) -> None:
        rng = self._rng(label)
        if d.generators is not None or element is not None:
            units = self._ids(d.generators if d.generators is not None else [element], self.gen_index,
                              "generator", "generators" if d.generators is not None else "target")
        else:
            pool = np.flatnonzero(self.case.gen_in_service & ~self.grid.gen_slack)
            k = min(int(round(float(d.count if d.count is not None else 1))), pool.size)
            units = sorted(rng.choice(pool, size=k, replace=False).tolist())
        start, end = self._window(d)
        self.grid.world.at(start, lambda: self._units(units, +1, label))
        if end < self.grid.world.horizon_h:
            self.grid.world.at(end, lambda: self._units(units, -1, label))

    def _units(self, units: list[int], step: int, label: str) -> None:
        self.grid.gen_off[units] += step
        for u in units:
            self.grid.record("unit_trip" if step > 0 else "unit_back", self.case.gen_ids[u], label)
        self.grid.update()

    def _substations(self, d: SubstationLoss | Flood, label: str, element: str | None) -> None:
        if isinstance(d, Flood):
            xy = self.case.bus_xy
            if np.isnan(xy).all():
                raise ScenarioError.single(f"grid {self.case.name!r} has no bus coordinates, so a flood "
                                           "polygon cannot be placed", path="polygon",
                                           valid="substation_loss with named buses")
            buses = np.flatnonzero(points_in_polygon(xy, d.polygon)).tolist()
        else:
            names = d.buses or ([element] if element is not None else [])
            buses = [self.grid.bus(b, "buses") for b in names]
        start, end = self._window(d)
        self.grid.world.at(start, lambda: self._buses(buses, True, label))
        if end < self.grid.world.horizon_h:
            self.grid.world.at(end, lambda: self._buses(buses, False, label))

    def _buses(self, buses: list[int], lost: bool, label: str) -> None:
        grid = self.grid
        engine = grid.engine
        for bus in buses:
            grid.bus_lost[bus] += 1 if lost else -1
            branches = np.flatnonzero((engine.f == bus) | (engine.t == bus))
            grid.set_hold(branches, f"substation:{label}:{bus}", lost)
            grid.record("substation_lost" if lost else "substation_back", self.case.bus_names[bus], label)
        grid.update()

    # ---------------------------------------------------------------------- crews ----
    def _repair_time(self, k: int) -> float:
        spec = self.grid.config.repair_time
        rng = self.grid.world.streams.get(self.grid.name, "repair", self.case.branch_ids[k])
        mean, cv = float(spec.mean), float(spec.cv)
        if spec.distribution == "fixed" or (spec.distribution == "lognormal" and cv == 0):
            return mean
        if spec.distribution == "exponential":
            return float(rng.exponential(mean))
        sigma2 = math.log1p(cv**2)
        return float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))

    def request_repair(self, k: int, hold: str, work_h: float) -> None:
        """Queue branch ``k`` for a crew, who releases ``hold`` after ``work_h`` hours of work."""
        if self.grid.crew_pool is None:
            return
        self.grid.env.process(self._repair(k, hold, work_h, self._crew_priority(k)))

    def _repair(self, k: int, hold: str, work_h: float, priority: float) -> Iterator[simpy.Event]:
        """A crew restores one branch: waits for a free crew, then ``work_h`` hours of work."""
        with self.grid.crew_pool.request(priority=priority) as request:  # type: ignore[union-attr]
            yield request
            yield self.grid.env.timeout(work_h)
        self._restore(k, hold)

    def _crew_priority(self, k: int) -> float:
        grid = self.grid
        rule = grid.crew_priority
        if rule == "fifo" or grid.energised is None:
            return 0.0
        labels = grid.engine.islands(grid.out).labels
        ends = {labels[grid.engine.f[k]], labels[grid.engine.t[k]]}
        near = np.isin(labels, list(ends)) & ~grid.energised
        if rule == "critical_first":   # the most critical dark load it would bring back (0: none)
            return -float(grid.priority[near].max(initial=0))
        return -float(np.maximum(grid.base_load_mw[near], 0.0).sum())

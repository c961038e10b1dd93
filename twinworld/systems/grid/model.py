"""A power grid on the World's clock: loads over the day, outages, cascades, shedding and crews.

State changes (a load step, a line failing or returning, a unit tripping, a rotation) all end in
:meth:`PowerGrid.update`, which rebalances every island (:mod:`.balance`), computes the DC flows by
LODF compensation on the cached engine (:mod:`.engine`), schedules an overload trip for every
branch above its limit (it trips ``trip_delay`` later if still overloaded), and publishes each bus's
energised state as ``<system>.bus.<bus>`` (1.0 lit, 0.0 dark) for couplings.

Randomness (which lines fail, repair times) comes from named streams, so every strategy run on one
seed faces the same failures and the same repair times for the same line.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import simpy

from twinworld.core.cache import static
from twinworld.errors import ScenarioError
from twinworld.systems.base import DisruptionConfig, StrategyConfig, System
from twinworld.systems.grid.balance import Dispatch, Fleet, dispatch
from twinworld.systems.grid.config import SUMMER_PROFILE, PowerGridConfig, Ratings
from twinworld.systems.grid.engine import GridEngine, cached_engine
from twinworld.systems.grid.outages import OutagePlanner
from twinworld.systems.grid.redispatch import relieve_overloads
from twinworld.systems.grid.state import GridState
from twinworld.systems.grid.strategies import CrewDispatch, Microgrids, PriorityShedding, Redispatch, RotatingOutages

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["PowerGrid", "branch_ratings", "case_source", "STREAMS"]

#: The grid's random streams (after its system name): outages per disruption, repair times per branch.
STREAMS = ("outage", "repair")
_OBSERVED = "observed"   # the hold key of branches a warm start found out


def case_source(config: PowerGridConfig) -> str | Path:
    """The bundled case name or the (prepared, absolute) case file of a grid config."""
    return config.source.pandapower or Path(str(config.source.file))


def base_fleet(engine: GridEngine, load_mw: np.ndarray) -> Fleet:
    """The case's units with set points that balance ``load_mw`` (each island's slack takes the rest).

    Scaling these set points with the load keeps the flow pattern of the case as load moves over
    the day; the balancing policy only corrects what outages and trips change.
    """
    case = engine.case
    slack = np.zeros(len(case.gen_ids), dtype=bool)
    for bus in case.slack_buses:
        units = np.flatnonzero(case.gen_bus == bus)
        if units.size:
            slack[units[0]] = True
    absorbs = np.array([g.startswith("EG") for g in case.gen_ids], dtype=bool)
    fleet = Fleet(case.gen_bus, case.gen_p_mw, case.gen_pmax_mw, case.gen_in_service, slack, absorbs)
    islands = engine.islands(np.zeros(case.n_branch, dtype=bool))
    state = dispatch(islands, load_mw, fleet, shed_order=np.arange(case.n_bus), policy="slack")
    return Fleet(case.gen_bus, state.gen_mw, case.gen_pmax_mw, case.gen_in_service, slack, absorbs)


def branch_ratings(engine: GridEngine, ratings: Ratings, *, fleet: Fleet, load_mw: np.ndarray,
                   scale: float, policy: Literal["slack", "proportional"]) -> np.ndarray:
    """Branch limits (MW): the case's, or ``margin`` x the flow at the planning load where it has none.

    The planning load is ``load_mw`` x ``scale`` (the profile's peak before any heatwave) with the
    set points scaled alike, so a normal day stays within limits and stress shows up as overloads.
    """
    case = engine.case
    if ratings.source == "case" or (ratings.source.startswith("case_or")
                                    and np.isfinite(case.rating_mw[engine.base_in]).all()):
        return case.rating_mw.copy()
    none = np.zeros(case.n_branch, dtype=bool)
    islands = engine.islands(none)
    peak = Fleet(fleet.bus, fleet.setpoint_mw * scale, fleet.pmax_mw, fleet.on, fleet.slack,
                 fleet.can_absorb)
    state = dispatch(islands, load_mw * scale, peak, shed_order=np.arange(case.n_bus), policy=policy)
    if ratings.source.endswith("n_minus_1"):
        post = engine.n_minus_1(state.injection_mw)[:, engine.base_in & ~engine.bridges]
        base = np.abs(np.column_stack([engine.base_flows(state.injection_mw), post])).max(axis=1)
    else:
        base = np.abs(engine.flows(state.injection_mw, none, islands=islands))
    derived = np.maximum(float(ratings.margin) * base, ratings.min_mw)
    if ratings.source == "case":
        return case.rating_mw.copy()
    if ratings.source.startswith("case_or"):
        return np.where(np.isfinite(case.rating_mw), case.rating_mw, derived)
    return derived


class PowerGrid(System):
    """The ``power_grid`` system."""

    kind = "power_grid"

    def __init__(self, world: "World", name: str, config: PowerGridConfig) -> None:
        super().__init__(world, name, config)
        self.config: PowerGridConfig = config
        self.env = world.env
        self.engine = cached_engine(case_source(config), config.source.digest)
        case = self.case = self.engine.case
        self.base_load_mw = case.load_mw * float(config.load_scale)
        self.profile = np.asarray(config.load_profile or SUMMER_PROFILE, dtype=float)
        self.base_units = base_fleet(self.engine, self.base_load_mw)
        peak = float(self.profile.max())
        rating_key = (f"{self.engine.case.key}:ratings:{config.ratings.model_dump_json()}:"
                      f"{float(config.load_scale)!r}:{peak!r}:{config.balancing}")
        self.ratings_mw = static(rating_key, lambda: branch_ratings(
            self.engine, config.ratings, fleet=self.base_units, load_mw=self.base_load_mw,
            scale=peak, policy=config.balancing))
        self.tolerance = float(config.overload_tolerance)
        self.trip_delay_h = float(config.trip_delay)
        self.holds: list[set[str]] = [set() for _ in range(case.n_branch)]
        self.out = np.zeros(case.n_branch, dtype=bool)
        self.bus_lost = np.zeros(case.n_bus, dtype=np.int64)
        self.gen_off = np.zeros(len(case.gen_ids), dtype=np.int64)
        self.heatwaves: list[tuple[float, float, float, float]] = []
        self.critical, self.priority = self._critical_loads()
        self.static_priority = self.priority.copy()
        self.customers = np.round(np.maximum(self.base_load_mw, 0.0) * config.customers_per_mw)
        self.shedding: PriorityShedding | None = None
        self.rotation: RotatingOutages | None = None
        self.redispatch: Redispatch | None = None
        # "dense": the full program at once (for comparisons)
        self.redispatch_method: Literal["generate", "dense"] = "generate"
        self.microgrid_mw = np.zeros(case.n_bus)
        self.crew_priority = "fifo"
        self.crew_count = config.crews
        self.crew_pool: simpy.PriorityResource | None = None
        self.outages = OutagePlanner(self)
        self.feed_losses: dict[str, tuple[int, float]] = {}   # coupling -> (bus row, share of load lost)
        self.feed_loss = np.zeros(case.n_bus)
        self.observed: GridState | None = None   # a warm start's state, applied at start()
        self._run_state()
        self.shed_probe = world.recorder.probe(f"{name}.shed_mw")
        self.keys = self._service_keys()

    # ------------------------------------------------------------------------ set-up ----
    def _critical_loads(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the critical buses, and every bus's shedding priority (0: ordinary)."""
        priority = np.zeros(self.case.n_bus, dtype=np.int64)
        for i, load in enumerate(self.config.critical_loads):
            row = self.bus(load.bus, f"critical_loads.{i}.bus")
            priority[row] = max(priority[row], load.priority)
        rows = sorted({self.bus(c.bus, "critical_loads") for c in self.config.critical_loads})
        return np.array(rows, dtype=np.int64), priority

    def _run_state(self) -> None:
        """What changes during a run: the balanced state, trip bookkeeping, outcome counters."""
        n_bus = self.case.n_bus
        self.state: Dispatch | None = None
        self.flows_mw = np.zeros(self.case.n_branch)
        self.energised: np.ndarray | None = None
        self.dark_h = np.zeros(n_bus)
        self.ever_dark = np.zeros(n_bus, dtype=bool)
        self._last_h = 0.0
        self.pending: set[int] = set()
        self.tripped_at: dict[int, float] = {}
        self._trip_checks: dict[float, list[int]] = {}
        self.reclose_backoff: dict[int, float] = {}
        self.trip_load: dict[int, float] = {}
        self.lines_tripped = 0
        self.lines_damaged = 0
        self.first_loss_h: float | None = None
        self.last_restore_h: float | None = None
        self.log: list[tuple[float, str, str, str]] = []

    def _service_keys(self) -> list[list[str]]:
        keys: list[list[str]] = [[] for _ in range(self.case.n_bus)]
        for alias, row in self.case.bus_aliases.items():
            keys[row].append(f"{self.name}.bus.{alias}")
        return keys

    def bus(self, bus_id: str, path: str) -> int:
        """Row of a bus id, or a ScenarioError naming the valid ids."""
        row = self.case.bus_aliases.get(str(bus_id))
        if row is None:
            raise ScenarioError.single(f"no bus {bus_id!r} in grid {self.case.name!r}", path=path,
                                       valid=self.case.describe_ids("bus"))
        return row

    def disrupt(self, disruption: DisruptionConfig) -> None:
        self.outages.schedule(disruption)

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, PriorityShedding):
            self.shedding = strategy
        elif isinstance(strategy, RotatingOutages):
            self.rotation = strategy
        elif isinstance(strategy, Redispatch):
            self.redispatch = strategy
        elif isinstance(strategy, Microgrids):
            buses = ([self.bus(b, "buses") for b in strategy.buses] if strategy.buses is not None
                     else list(self.critical))
            peak = np.maximum(self.base_load_mw, 0.0) * float(self.profile.max())
            for row in buses:
                self.microgrid_mw[row] = float(strategy.capacity_share) * peak[row]
        elif isinstance(strategy, CrewDispatch):
            self.crew_priority = strategy.priority
            if strategy.crews is not None:
                self.crew_count = strategy.crews
        else:
            super().respond(strategy)

    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """The upstream feed of a bus fails: ``share_lost`` of its load goes unserved (and the bus
        goes dark when all of it does) until the feed is back."""
        row = self.bus(str(element), "consumer")
        if share_lost > 0:
            self.feed_losses[cause] = (row, share_lost)
        else:
            self.feed_losses.pop(cause, None)
        self.feed_loss[:] = 0.0
        for bus, share in self.feed_losses.values():
            self.feed_loss[bus] = min(1.0, self.feed_loss[bus] + share)
        self.record("feed_lost" if share_lost > 0 else "feed_back", self.case.bus_names[row], cause)
        self.update()

    def feed(self, kind: str, provider_elements: tuple[str, ...], value: float, *, element: str | None,
             cause: int | None) -> None:
        """``priority``: the bus's restoration and shedding priority follows what it feeds: a
        provider's value times 10 (a hospital at 95% occupancy: 10), never below its own."""
        if kind != "priority" or element is None:
            super().feed(kind, provider_elements, value, element=element, cause=cause)
            return
        row = self.bus(element, "consumer")
        self.priority[row] = max(int(self.static_priority[row]), int(round(10.0 * value)))

    def warm_start(self, state: GridState) -> None:  # type: ignore[override]
        """Start from observed branches and units out (out for the run) and bus loads (the case's
        load at those buses is scaled so that the load now is what was observed)."""
        case = self.case
        checks = [("line", state.lines_out, case.branch_index()), ("generator", state.generators_out,
                                                                    case.gen_index()),
                  ("bus", list(state.bus_load_mw), case.bus_aliases)]
        for what, names, index in checks:
            unknown = [n for n in names if n not in index]
            if unknown:
                raise ValueError(f"state names {what}(s) {', '.join(unknown[:5])} not in grid {case.name!r}")
        factor = self.load_factor(0.0)
        for bus, mw in state.bus_load_mw.items():
            row = case.bus_aliases[bus]
            if self.base_load_mw[row] * factor == 0 and mw != 0:
                raise ValueError(f"bus {bus!r} has no load in grid {case.name!r}; observed {mw} MW")
        self.observed = state

    def _apply_state(self, state: GridState) -> None:
        case = self.case
        index = case.branch_index()
        self.set_hold([index[line] for line in state.lines_out], _OBSERVED, True)
        units = case.gen_index()
        for unit in state.generators_out:
            self.gen_off[units[unit]] += 1
        factor = self.load_factor(0.0)
        for bus, mw in state.bus_load_mw.items():
            row = case.bus_aliases[bus]
            base = self.base_load_mw[row] * factor
            if base != 0:
                self.base_load_mw[row] *= mw / base

    def observe(self) -> GridState:
        """Branches and units out now (for whatever reason) and the load at each loaded bus."""
        case = self.case
        demand = self.base_load_mw * self.load_factor(self.env.now)
        units_out = (self.gen_off > 0) | (self.bus_lost[case.gen_bus] > 0)
        return GridState(lines_out=[case.branch_ids[k] for k in np.flatnonzero(self.out & self.engine.base_in)],
                         generators_out=[case.gen_ids[g] for g in np.flatnonzero(units_out)],
                         bus_load_mw={case.bus_names[row]: float(demand[row])
                                      for row in np.flatnonzero(self.base_load_mw != 0)})

    def begin_statistics(self) -> None:
        """The warm-up is over: darkness, trips and restoration are measured from now."""
        self._advance(self.env.now)
        self.dark_h[:] = 0.0
        self.ever_dark = ~self.energised & (self.base_load_mw > 0) if self.energised is not None \
            else np.zeros(self.case.n_bus, dtype=bool)
        self.lines_tripped = self.lines_damaged = 0
        self.first_loss_h = self.env.now if self.shed_probe.value > 1e-6 else None
        self.last_restore_h = None

    def start(self) -> None:
        if self.observed is not None:
            self._apply_state(self.observed)
        if self.crew_count > 0:
            self.crew_pool = simpy.PriorityResource(self.env, capacity=self.crew_count)
        self.update()
        self.env.process(self._every(float(self.config.step), reclose=True))
        if self.rotation is not None:
            self.env.process(self._every(float(self.rotation.block), reclose=False))

    def _every(self, period_h: float, *, reclose: bool) -> Generator[simpy.Event, Any, None]:
        """Update on a fixed period (load steps, rotations); ``period_h`` of simulated time each."""
        while True:
            yield self.env.timeout(period_h)
            self.update()
            if reclose:
                self.reclose_due()

    # ---------------------------------------------------------------------- the state ----
    def load_factor(self, t_h: float) -> float:
        factor = float(self.profile[int(t_h) % 24])
        for start, end, multiplier, _ in self.heatwaves:
            if start <= t_h < end:
                factor *= multiplier
        return factor

    def limits_mw(self, t_h: float) -> np.ndarray:
        derate = 0.0
        for start, end, _, share in self.heatwaves:
            if start <= t_h < end:
                derate = max(derate, share)
        return self.ratings_mw * self.tolerance * (1.0 - derate)

    @property
    def gen_slack(self) -> np.ndarray:
        return self.base_units.slack

    def fleet(self) -> Fleet:
        """Units now: set points follow the load; tripped units and lost substations are off."""
        base = self.base_units
        on = base.on & (self.gen_off == 0) & (self.bus_lost[base.bus] == 0)
        factor = self.load_factor(self.env.now)
        return Fleet(base.bus, base.setpoint_mw * factor, base.pmax_mw, on, base.slack, base.can_absorb)

    def shed_order(self) -> np.ndarray:
        """Bus rows, first shed first, as the strategies in force say."""
        n = self.case.n_bus
        keys: list[np.ndarray] = [np.arange(n)]
        if self.shedding is not None:
            size = np.maximum(self.base_load_mw, 0.0)
            keys.append(-size if self.shedding.order == "largest_first" else size)
        if self.rotation is not None:
            keys.append(self.dark_h)
        if self.shedding is not None:
            keys.append(self.priority)
        return np.lexsort(keys)

    def set_hold(self, branches: np.ndarray | list[int], hold: str, on: bool) -> None:
        """Add (or release) a reason for branches to be out."""
        for k in branches:
            (self.holds[k].add if on else self.holds[k].discard)(hold)
            self.out[k] = bool(self.holds[k])

    def update(self) -> None:
        """Rebalance, recompute flows, schedule trips and publish bus states at the current time."""
        now = self.env.now
        self._advance(now)
        islands = self.engine.islands(self.out)
        demand = self.base_load_mw * self.load_factor(now)
        unfed_mw = float(np.maximum(demand * self.feed_loss, 0.0).sum())
        demand = demand * (1.0 - self.feed_loss)
        micro = np.where(self.bus_lost > 0, 0.0, self.microgrid_mw)
        fleet = self.fleet()
        state = dispatch(islands, demand, fleet, shed_order=self.shed_order(),
                         policy=self.config.balancing, microgrid_mw=micro)
        flows = self.engine.flows(state.injection_mw, self.out, islands=islands)
        limits = self.limits_mw(now)
        if self.redispatch is not None:
            better = relieve_overloads(self.engine, state, fleet, flows, limits, self.out, islands,
                                       float(self.redispatch.target_loading),
                                       method=self.redispatch_method)
            if better is not None:
                state, flows = better
        self.state, self.flows_mw = state, flows
        self._watch_overloads(flows, limits)
        self._account(state, now, unfed_mw=unfed_mw)

    def _watch_overloads(self, flows: np.ndarray, limits: np.ndarray) -> None:
        """Arm a trip check ``trip_delay`` from now for every newly overloaded branch."""
        over = np.flatnonzero(self.engine.base_in & ~self.out & (np.abs(flows) > limits + 1e-6))
        new = [int(k) for k in over if int(k) not in self.pending]
        if not new:
            return
        self.pending.update(new)
        when = self.env.now + self.trip_delay_h
        batch = self._trip_checks.get(when)
        if batch is None:
            batch = self._trip_checks[when] = []
            self.world.at(when, lambda: self._check_trips(when))
        batch.extend(new)

    def _check_trips(self, when: float) -> None:
        """Trip, all at once, the armed branches that are still overloaded (a cascade step)."""
        armed = self._trip_checks.pop(when, [])
        self.pending.difference_update(armed)
        now = self.env.now
        limits = self.limits_mw(now)
        trip = [k for k in armed if not self.out[k] and abs(self.flows_mw[k]) > limits[k] + 1e-6]
        if not trip:
            return
        load = self.load_factor(now)
        for k in trip:
            self.record("trip", self.case.branch_ids[k], f"{self.flows_mw[k]:.1f} MW > {limits[k]:.1f} MW")
            self.tripped_at[k] = now
            self.trip_load[k] = load
        self.lines_tripped += len(trip)
        self.set_hold(trip, "trip", True)
        self.update()

    def reclose_due(self, *, attempts: int = 1) -> None:
        """Reclose branches tripped at least ``reclose_time`` ago, one at a time, oldest first.

        Called right after a load-step update. A branch is reclosed only if no branch would then be
        overloaded that is not overloaded now; at most ``attempts`` branches are tried per step
        (operators restore in steps).
        """
        now = self.env.now
        wait = float(self.config.reclose_time)
        load = self.load_factor(now)
        due = sorted((t, k) for k, t in self.tripped_at.items()
                     if now - t >= wait * self.reclose_backoff.get(k, 1.0) and self.holds[k] == {"trip"}
                     and load <= self.trip_load[k] + 1e-9)
        if not due:
            return
        limits = self.limits_mw(now)
        for _, k in due[:attempts]:
            over_now = self._overloaded(self.flows_mw, limits)
            self.set_hold([k], "trip", False)
            if (self._overloaded(self._trial_flows(now), limits) & ~over_now).any():
                self.set_hold([k], "trip", True)
                self.tripped_at[k] = now
                self.trip_load[k] = load
                self.reclose_backoff[k] = 2.0 * self.reclose_backoff.get(k, 1.0)
                continue
            del self.tripped_at[k]
            self.reclose_backoff.pop(k, None)
            self.record("reclosed", self.case.branch_ids[k])
            self.update()

    def _trial_flows(self, now: float) -> np.ndarray:
        islands = self.engine.islands(self.out)
        state = dispatch(islands, self.base_load_mw * self.load_factor(now) * (1.0 - self.feed_loss), self.fleet(),
                         shed_order=self.shed_order(), policy=self.config.balancing,
                         microgrid_mw=np.where(self.bus_lost > 0, 0.0, self.microgrid_mw))
        return self.engine.flows(state.injection_mw, self.out, islands=islands)

    def _overloaded(self, flows: np.ndarray, limits: np.ndarray) -> np.ndarray:
        return self.engine.base_in & ~self.out & (np.abs(flows) > limits + 1e-6)

    def _advance(self, now: float) -> None:
        if self.energised is not None and now > self._last_h:
            self.dark_h += (now - self._last_h) * ~self.energised
        self._last_h = now

    def _account(self, state: Dispatch, now: float, *, unfed_mw: float = 0.0) -> None:
        shed = state.shed_mw + unfed_mw
        self.world.recorder.level(f"{self.name}.shed_mw", shed)
        if shed > 1e-6:
            if self.first_loss_h is None:
                self.first_loss_h = now
            self.last_restore_h = None
        elif self.first_loss_h is not None and self.last_restore_h is None:
            self.last_restore_h = now
        energised = state.energised & (self.feed_loss < 1.0)
        loaded = self.base_load_mw > 0
        self.ever_dark |= ~energised & loaded
        previous = self.energised
        changed = np.arange(len(energised)) if previous is None else np.flatnonzero(previous != energised)
        publish = self.world.services.publish
        for row in changed:
            level = 1.0 if energised[row] else 0.0
            for key in self.keys[row]:
                publish(key, level)
        self.energised = energised.copy()

    def record(self, what: str, element: str, detail: str = "") -> None:
        self.log.append((self.env.now, what, element, detail))
        self.world.recorder.event(f"grid_{what}", f"{self.name}.{element} {detail}".strip())

    # ------------------------------------------------------------------------ results ----
    def kpis(self) -> dict[str, float]:
        horizon = self.world.horizon_h
        self._advance(horizon)
        probe = self.shed_probe
        probe.close(horizon)
        if self.first_loss_h is None:
            restoration = 0.0
        else:
            end = self.last_restore_h if self.last_restore_h is not None else horizon
            restoration = end - self.first_loss_h
        dark = self.dark_h * (self.base_load_mw > 0)
        return {
            "energy_not_served_mwh": float(probe.area),
            "peak_mw_shed": float(probe.peak),
            "customers_affected": float(self.customers[self.ever_dark].sum()),
            "customer_hours_lost": float((self.customers * dark).sum()),
            "critical_load_hours_unserved": float(self.dark_h[self.critical].sum()) if self.critical.size else 0.0,
            "lines_tripped": float(self.lines_tripped),
            "lines_damaged": float(self.lines_damaged),
            "restoration_time_h": float(restoration),
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        case = self.case
        buses = pd.DataFrame({"bus": case.bus_names, "base_load_mw": self.base_load_mw,
                              "customers": self.customers, "dark_h": self.dark_h,
                              "priority": self.priority})
        log = pd.DataFrame(self.log, columns=["time_h", "what", "element", "detail"])
        return {"buses": buses, "outages": log}

    def describe(self) -> dict[str, Any]:
        """A small summary of the grid (for notes and debugging)."""
        return {"case": self.case.name, "buses": self.case.n_bus, "branches": self.case.n_branch,
                "units": len(self.case.gen_ids), "base_load_mw": float(self.base_load_mw.sum()),
                "ptdf": "dense" if self.engine.dense else "sparse LU",
                "max_base_loading": float(np.max(np.abs(self.flows_mw) / self.ratings_mw,
                                                 initial=0.0)) if math.isfinite(self.ratings_mw.max()) else 0.0}

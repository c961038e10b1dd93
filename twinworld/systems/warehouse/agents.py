"""Supply agents that decide: warehouses that forecast and order, shoppers who panic.

- A warehouse (or retailer) with a ``forecast`` policy is a :class:`Replenisher`: at each review
  (a decision epoch on the World's clock, reviews of one cadence called through Mesa's
  ``shuffle_do``) it counts the period's demand, updates its forecast (moving average of p
  periods, or exponential smoothing), sets its order-up-to level from it and orders. Upstream
  warehouses see its orders as their demand: order swings grow up the chain (the bullwhip effect).
- A customer with ``panic`` places its orders through :class:`Shopper` agents: a shopper prone to
  panic who meets a stock-out, or hears of one from a contact, buys ``multiplier`` times as much
  for a while and tells its contacts, so shortages feed on themselves.

:class:`SupplyAgents` holds them for one run, records every decision as a table row, and measures
the bullwhip ratio Var(orders)/Var(demand) per warehouse.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from random import Random  # seeded from the named streams: Mesa's AgentSet shuffles with it
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from twinworld.core.agents import decision_epochs
from twinworld.core.social import ring_network
from twinworld.systems.warehouse.config import ExponentialSmoothing, ForecastPolicy, Panic
from twinworld.systems.warehouse.network import route_hours
from twinworld.systems.warehouse.stock import Warehouse

if TYPE_CHECKING:
    from twinworld.systems.warehouse.model import SupplyNetwork

__all__ = ["MovingAverageForecast", "SmoothingForecast", "Replenisher", "Shopper", "SupplyAgents",
           "bullwhip_ratio"]


class MovingAverageForecast:
    """Mean of the last ``periods`` demands (the history starts filled with ``initial``)."""

    def __init__(self, periods: int, initial: float) -> None:
        self.history: deque[float] = deque([initial] * periods, maxlen=periods)

    @property
    def value(self) -> float:
        return sum(self.history) / len(self.history)

    @property
    def sd(self) -> float:
        return float(np.std(self.history, ddof=1)) if len(self.history) > 1 else 0.0

    def update(self, demand: float) -> None:
        self.history.append(demand)


class SmoothingForecast:
    """Exponential smoothing: forecast = alpha x demand + (1 - alpha) x forecast; the sd is the
    root of the exponentially smoothed squared error."""

    def __init__(self, alpha: float, initial: float) -> None:
        self.alpha, self.value, self.mse = alpha, initial, 0.0

    @property
    def sd(self) -> float:
        return math.sqrt(self.mse)

    def update(self, demand: float) -> None:
        error = demand - self.value
        self.mse = self.alpha * error * error + (1.0 - self.alpha) * self.mse
        self.value = self.alpha * demand + (1.0 - self.alpha) * self.value


class Replenisher(mesa.Agent):
    """A warehouse that forecasts its demand and orders up to a target at each review."""

    def __init__(self, model: mesa.Model, *, network: "SupplyNetwork", warehouse: Warehouse,
                 policy: ForecastPolicy, cover_periods: float, initial_units: float) -> None:
        super().__init__(model)
        self.kind = "replenisher"
        self.network, self.warehouse, self.policy = network, warehouse, policy
        self.name = warehouse.name
        self.period_h = float(policy.review_every)
        self.cover = cover_periods
        method = policy.forecast
        self.forecast: MovingAverageForecast | SmoothingForecast = (
            SmoothingForecast(float(method.alpha), initial_units) if isinstance(method, ExponentialSmoothing)
            else MovingAverageForecast(method.periods, initial_units))
        self.period_demand = 0.0
        self.reviews = 0
        self.records: list[tuple[float, str, float, float, float, int, int]] = []
        warehouse.S = self.target()

    def target(self) -> float:
        """Order-up-to level: cover x forecast + z x sd x sqrt(cover) (+ a strategy's safety stock)."""
        level = self.cover * self.forecast.value
        if self.policy.safety_factor > 0:
            level += self.policy.safety_factor * self.forecast.sd * math.sqrt(self.cover)
        return level + self.warehouse.level_extra

    def review(self) -> None:
        """Count the period's demand, update the forecast, set the level and order up to it."""
        demand, self.period_demand = self.period_demand, 0.0
        if self.reviews:
            self.forecast.update(demand)
        self.reviews += 1
        wh = self.warehouse
        wh.S = self.target()
        quantity = wh.periodic_quantity()
        self.network.replenish(wh, quantity)
        self.records.append((self.network.env.now, self.name, demand, self.forecast.value, wh.S, quantity,
                             wh.position))


class Shopper(mesa.Agent):
    """One of a customer's shoppers; prone ones panic-buy for a while after a shortage."""

    def __init__(self, model: mesa.Model, *, customer: str, index: int, prone: bool, panic: Panic) -> None:
        super().__init__(model)
        self.kind = "shopper"
        self.customer, self.index, self.prone = customer, index, prone
        self.multiplier = float(panic.multiplier)
        self.duration_h = float(panic.duration)
        self.until_h = -math.inf
        self.panics = 0

    def is_panicking(self, now_h: float) -> bool:
        return now_h < self.until_h

    def buy(self, units: int, now_h: float) -> int:
        """Units it orders now: more while panicking."""
        return int(round(units * self.multiplier)) if self.is_panicking(now_h) else units

    def alarm(self, now_h: float) -> bool:
        """It meets or hears of a shortage: a prone shopper panics (again) from now. Returns True
        if it was calm until now (then it tells its contacts)."""
        if not self.prone:
            return False
        calm = not self.is_panicking(now_h)
        self.until_h = now_h + self.duration_h
        self.panics += calm
        return calm


class _PanicCustomer:
    """The shoppers of one customer: who placed each order, whom each tells, after how long."""

    def __init__(self, layer_model: mesa.Model, name: str, panic: Panic, orders: int, rng: np.random.Generator,
                 shuffle: Random) -> None:
        count = panic.shoppers
        prone = rng.random(count) < float(panic.share)
        self.shoppers = [Shopper(layer_model, customer=name, index=i, prone=bool(prone[i]), panic=panic)
                         for i in range(count)]
        self.agents = mesa.agent.AgentSet(self.shoppers, random=shuffle)
        self.placed_by = rng.integers(0, count, orders)
        self.contacts = ring_network(count, contacts=min(panic.contacts, count - 1), rewire=0.1, seed=0)
        self.tell_delay_h = rng.exponential(float(panic.tell_delay), self.contacts.ties)


class SupplyAgents:
    """The deciding agents of one supply network run (replenishers, shoppers) and their records."""

    def __init__(self, network: "SupplyNetwork") -> None:
        self.network = network
        world = network.world
        model = world.agents.model
        self.shuffle = Random(world.streams.integer_seed(network.name, "reviews"))
        self.replenishers: dict[str, Replenisher] = {}
        expected = _expected_demand_per_h(network)
        for wh in network.warehouses.values():
            policy = wh.spec.policy
            if isinstance(policy, ForecastPolicy):
                self.replenishers[wh.name] = self._replenisher(model, wh, policy, expected[wh.name])
        self.reviewers: dict[float, mesa.agent.AgentSet] = {}
        self.panicky: dict[str, _PanicCustomer] = {}
        self.demand_log: list[tuple[float, str, float]] = []
        self.order_log: list[tuple[float, str, float]] = []
        self.panic_log: list[tuple[float, str, int]] = []
        self.extra_units = 0

    def _replenisher(self, model: mesa.Model, wh: Warehouse, policy: ForecastPolicy,
                     expected_per_h: float) -> Replenisher:
        period_h = float(policy.review_every)
        cover = policy.cover_periods
        if cover is None:
            lead_h = route_hours(self.network.graph, self.network._path(wh.sources[0], wh.name))
            cover = lead_h / period_h + 1.0
        initial = (float(policy.initial_forecast_units) if policy.initial_forecast_units is not None
                   else expected_per_h * period_h)
        agent = Replenisher(model, network=self.network, warehouse=wh, policy=policy, cover_periods=cover,
                            initial_units=initial)
        if wh.spec.initial_units is None:
            wh.on_hand = wh.initial = int(math.floor(wh.S))
        return agent

    # ------------------------------------------------------------------------- start --
    def start_reviews(self, wh: Warehouse) -> None:
        """Start the review epochs of ``wh``'s cadence (once per cadence; called in the order the
        warehouses are started, as a periodic policy's process would be)."""
        agent = self.replenishers[wh.name]
        found = self.reviewers.get(agent.period_h)
        if found is not None:
            found.add(agent)
            return
        agents = mesa.agent.AgentSet([agent], random=self.shuffle)
        self.reviewers[agent.period_h] = agents
        env = self.network.env

        def review(now: float) -> bool:
            agents.shuffle_do("review")
            return True

        env.process(decision_epochs(env, review, every_h=agent.period_h, until_h=self.network.world.horizon_h))

    def panic_for(self, customer: str, orders: int) -> None:
        """Shoppers for a customer with ``panic`` placing ``orders`` orders (drawn from its stream)."""
        spec = self.network.customers[customer]
        assert spec.panic is not None
        rng = self.network.world.streams.get(self.network.name, "panic", customer)
        self.panicky[customer] = _PanicCustomer(self.network.world.agents.model, customer, spec.panic, orders, rng,
                                                self.shuffle)

    def watch_panic(self, every_h: float = 24.0) -> None:
        """Record, every ``every_h``, how many shoppers of each customer are panicking (a Mesa select)."""
        if not self.panicky:
            return
        env = self.network.env

        def count(now: float) -> bool:
            for name, customer in self.panicky.items():
                self.panic_log.append((now, name, len(customer.agents.select(lambda s: s.is_panicking(now)))))
            return True

        env.process(decision_epochs(env, count, every_h=every_h, until_h=self.network.world.horizon_h))

    # ---------------------------------------------------------------------- decisions --
    def units(self, customer: str, k: int, usual: int, now: float) -> tuple[int, int]:
        """Units of a customer's ``k``-th order and the shopper placing it (-1 without panic)."""
        found = self.panicky.get(customer)
        if found is None:
            return usual, -1
        shopper = found.shoppers[int(found.placed_by[k])]
        units = shopper.buy(usual, now)
        self.extra_units += units - usual
        return units, shopper.index

    def stock_out(self, customer: str, shopper: int, now: float) -> None:
        """A shopper's order was not filled at once: it may panic, and tells its contacts if so."""
        found = self.panicky.get(customer)
        if found is not None and shopper >= 0:
            self._alarm(found, shopper, now)

    def _alarm(self, found: _PanicCustomer, shopper: int, now: float) -> None:
        if not found.shoppers[shopper].alarm(now):
            return
        env = self.network.env
        ties = found.contacts.edges_from(np.array([shopper]))
        for tie in ties.tolist():
            env.timeout(float(found.tell_delay_h[tie])).callbacks.append(
                self._teller(found, int(found.contacts.indices[tie])))

    def _teller(self, found: _PanicCustomer, shopper: int) -> Callable[[object], None]:
        """A callback: ``shopper`` hears of the shortage now."""
        return lambda _event: self._alarm(found, shopper, self.network.env.now)

    def demand(self, warehouse: str, units: float, now: float) -> None:
        """Units asked of a warehouse (a customer's or another warehouse's order)."""
        self.demand_log.append((now, warehouse, units))
        agent = self.replenishers.get(warehouse)
        if agent is not None:
            agent.period_demand += units

    def ordered(self, warehouse: str, units: float, now: float) -> None:
        self.order_log.append((now, warehouse, units))

    # ------------------------------------------------------------------------ results --
    def bullwhip(self, since_h: float, horizon_h: float, *, period_h: float = 24.0) -> pd.DataFrame:
        """Per warehouse: variance of its demand and of its orders per period, and their ratio."""
        bins = np.arange(since_h, horizon_h + 1e-9, period_h)
        rows = []
        for name in self.network.warehouses:
            series = []
            for log in (self.demand_log, self.order_log):
                times = np.array([t for t, w, _ in log if w == name])
                units = np.array([u for _, w, u in log if w == name])
                series.append(np.histogram(times, bins=bins, weights=units)[0] if bins.size > 1 else np.zeros(0))
            demand, orders = series
            var_d = float(demand.var(ddof=1)) if demand.size > 1 else 0.0
            var_q = float(orders.var(ddof=1)) if orders.size > 1 else 0.0
            rows.append({"warehouse": name, "periods": int(demand.size), "mean_demand": float(demand.mean()) if
                         demand.size else 0.0, "var_demand": var_d, "var_orders": var_q,
                         "ratio": var_q / var_d if var_d > 0 else float("nan")})
        return pd.DataFrame(rows)

    def tables(self, since_h: float, horizon_h: float) -> dict[str, pd.DataFrame]:
        found = {"bullwhip": self.bullwhip(since_h, horizon_h)}
        records = [r for agent in self.replenishers.values() for r in agent.records]
        if records:
            found["replenishment"] = pd.DataFrame(records, columns=["time_h", "warehouse", "demand_units",
                                                                    "forecast_units", "target_units",
                                                                    "ordered_units", "position_units"])
        if self.panic_log:
            found["panic"] = pd.DataFrame(self.panic_log, columns=["time_h", "customer", "shoppers_panicking"])
        return found


def bullwhip_ratio(table: pd.DataFrame) -> float:
    """The largest Var(orders)/Var(demand) over warehouses (1.0 when no warehouse's demand varied)."""
    ratios = table["ratio"].dropna() if len(table) else pd.Series(dtype=float)
    return float(ratios.max()) if len(ratios) else 1.0


def _expected_demand_per_h(network: "SupplyNetwork") -> dict[str, float]:
    """Each warehouse's mean demand per hour: its customers' plus what its downstream warehouses
    (those whose primary source it is) expect."""
    expected: dict[str, float] = {}

    def of(name: str, seen: frozenset[str] = frozenset()) -> float:
        if name in expected:
            return expected[name]
        wh = network.warehouses[name]
        total = wh.demand_per_day / 24.0
        total += sum(of(other.name, seen | {name}) for other in network.warehouses.values()
                     if other.sources[0] == name and other.name not in seen)
        expected[name] = total
        return total

    for name in network.warehouses:
        of(name)
    return expected


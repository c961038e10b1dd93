"""Forecasts from now: every strategy, on posterior draws, from the observed state, in twinworld runs.

The forecast scenario is the scenario with its horizon set to the forecast window and every
disruption's ``start`` and ``duration`` made free, so each draw can carry its own shifted window:

- a disruption that ends before now is over (it is moved past the horizon);
- one that starts after now starts ``start - now`` into the forecast;
- one that is under way at now is truncated to its remaining part, starting at 0 -- unless it is
  one whose effect the observed state already carries (a line out, a road or berth closed) and
  that system has telemetry: what is observed broken is applied as a fact by the warm start, and
  the disruption is not applied a second time.

Each draw is run under every strategy with the same seed (common random numbers) through the
sweep executors (in-process, local processes or Dask), and the strategies are ranked on paired
differences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinworld.experiments.executors import Chunk, ExecutorOptions, Point, make_executor, pack_scenario
from twinworld.params import Uniform
from twinworld.results import KPI_PREFIX, kpi_definitions
from twinworld.scenario.uncertain import uncertainties
from twinworld.systems.base import Direction, ObservedState, target_system

__all__ = ["ForecastOptions", "Forecaster", "forecast_scenario", "shift_window", "paired_table",
           "OBSERVED_IN_STATE"]

#: (system kind, disruption kind) whose effect the system's observed state shows while it lasts.
OBSERVED_IN_STATE = frozenset({
    ("power_grid", "line_outage"), ("power_grid", "generator_trip"), ("power_grid", "flood"),
    ("port", "port_closure"), ("port", "crane_failure"),
    ("road_network", "road_closure"), ("road_network", "flood"), ("road_network", "bridge_failure"),
})
_FREE = Uniform(0.0, 1e9)   # stands for a start or duration that every draw sets itself


@dataclass(frozen=True)
class ForecastOptions:
    """How a round forecasts.

    Parameters
    ----------
    horizon_h
        Hours ahead (the forecast runs' horizon).
    particles
        Posterior draws per round; each is run under every strategy.
    executor
        Where the runs execute (default: in this process).
    confidence
        Level of the strategies' mean intervals.
    seed
        Seed of the draws' run seeds (with the round number).
    """

    horizon_h: float = 48.0
    particles: int = 200
    executor: ExecutorOptions = field(default_factory=lambda: ExecutorOptions(kind="inprocess"))
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.horizon_h) and self.horizon_h > 0) or self.particles < 2:
            raise ValueError("horizon_h must be a positive number of hours and particles >= 2")


def forecast_scenario(scenario: Any, horizon_h: float) -> Any:
    """The scenario over ``horizon_h`` hours from now, its disruptions' windows left to each draw."""
    disruptions = []
    for disruption in scenario.disruptions:
        update: dict[str, Any] = {"start": _FREE}
        if disruption.duration is not None:
            update["duration"] = _FREE
        disruptions.append(disruption.model_copy(update=update))
    result = scenario.model_copy(update={"horizon": float(horizon_h), "warmup": 0.0, "disruptions": disruptions})
    result._registry = scenario._registry
    result._source = scenario._source
    return result


def shift_window(start_h: float, duration_h: float | None, now_h: float, horizon_h: float, *,
                 observed: bool) -> tuple[float, float | None]:
    """``(start, duration)`` of a disruption in forecast time (0 = now); past the horizon if over.

    ``observed``: the disruption's effect is in the observed state, so if it is under way it is not
    applied again.
    """
    beyond = horizon_h + 1.0
    end = math.inf if duration_h is None else start_h + duration_h
    if end <= now_h or (start_h < now_h and observed):
        return beyond, (0.0 if duration_h is not None else None)
    if start_h >= now_h:
        return start_h - now_h, duration_h
    return 0.0, (None if duration_h is None else end - now_h)


def paired_table(frame: pd.DataFrame, direction: Direction, confidence: float = 0.95) -> pd.DataFrame:
    """Per strategy: mean with a t interval, mean paired difference to the best, P(best) (ties split).

    ``frame`` has one row per draw and one column per strategy (paired by row).
    """
    from twinworld.analysis.stats import mean_ci, prob_best

    best = (frame.mean() * direction.sign).idxmin()
    shares = prob_best(frame, str(direction))
    rows = []
    for strategy in frame.columns:
        ci = mean_ci(frame[strategy].to_numpy(), confidence)
        rows.append({"strategy": strategy, "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
                     "diff_vs_best": float((frame[strategy] - frame[best]).mean()),
                     "share_best": float(shares[strategy])})
    table = pd.DataFrame(rows)
    return table.sort_values("mean", ascending=direction is Direction.MINIMIZE, kind="stable").reset_index(drop=True)


def draw_seed(seed: int, round_number: int, draw: int) -> int:
    """The run seed of one draw of one round (the same for every strategy)."""
    return int(np.random.SeedSequence([seed, round_number, draw]).generate_state(1)[0])


class Forecaster:
    """Runs the forecasts of a twin's rounds on one executor (a context manager that closes it).

    Parameters
    ----------
    scenario
        The loaded scenario.
    options
        Horizon, draws, executor.
    """

    def __init__(self, scenario: Any, options: ForecastOptions = ForecastOptions()) -> None:
        self.scenario = scenario
        self.options = options
        self.base = forecast_scenario(scenario, options.horizon_h)
        self.parameters = tuple(uncertainties(self.base))
        self.kinds = scenario.system_kinds()
        self.labels = [scenario.disruption_label(i) for i in range(len(scenario.disruptions))]
        self._executor: Any = None

    def __enter__(self) -> "Forecaster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def _ensure(self) -> Any:
        if self._executor is None:
            import hashlib

            blob = pack_scenario(self.base)
            self._executor = make_executor(self.options.executor)
            self._executor.start(hashlib.sha256(blob).hexdigest(), blob, self.base)
        return self._executor

    def values(self, draw: Mapping[str, float], now_h: float, observed_systems: set[str]) -> dict[str, float]:
        """One draw's values for the forecast scenario (disruption windows shifted to now)."""
        values = {path: float(draw[path]) for path in self.parameters if path in draw}
        for disruption, label in zip(self.scenario.disruptions, self.labels):
            start = draw.get(f"{label}.start", disruption.start)
            duration = (draw.get(f"{label}.duration", disruption.duration) if disruption.duration is not None
                        else None)
            system = target_system(disruption.target)
            observed = (self.kinds[system], disruption.kind) in OBSERVED_IN_STATE and system in observed_systems
            new_start, new_duration = shift_window(float(start), None if duration is None else float(duration),
                                                   now_h, self.options.horizon_h, observed=observed)
            values[f"{label}.start"] = new_start
            if new_duration is not None:
                values[f"{label}.duration"] = new_duration
        return values

    def run(self, draws: Sequence[Mapping[str, float]], states: Sequence[Mapping[str, ObservedState]], now_h: float,
            round_number: int, *, observed_systems: set[str]) -> pd.DataFrame:
        """Every strategy on every draw from its state: one row per run (``draw``, ``strategy``,
        ``status``, ``kpi.*``)."""
        strategies = list(self.scenario.strategies)
        points = []
        for i, (draw, state) in enumerate(zip(draws, states)):
            values = self.values(draw, now_h, observed_systems)
            points.append(Point(i, 0, draw_seed(self.options.seed, round_number, i),
                                tuple(values[p] for p in self.parameters),
                                tuple((s, f"round{round_number}-draw{i}-{s}") for s in strategies),
                                state=dict(state)))
        executor = self._ensure()
        size = max(1, math.ceil(len(points) / (4 * executor.slots())))
        pending = {}
        for j in range(0, len(points), size):
            chunk = Chunk(j // size, tuple(points[j:j + size]), self.parameters)
            executor.submit(chunk)
            pending[chunk.chunk_id] = chunk
        rows: list[dict[str, Any]] = []
        while pending:
            for outcome in executor.collect(timeout=1.0):
                pending.pop(outcome.chunk.chunk_id, None)
                if outcome.lost:
                    rows += [{"scenario_index": p.scenario_index, "strategy": s, "status": "failed",
                              "error": outcome.lost} for p in outcome.chunk.points for s, _ in p.runs]
                else:
                    rows += outcome.rows
        frame = pd.DataFrame(rows).rename(columns={"scenario_index": "draw"})
        return frame.sort_values(["draw", "strategy"], ignore_index=True)

    def rank(self, runs: pd.DataFrame) -> tuple[pd.DataFrame, str, Direction, int]:
        """``(table, primary KPI, direction, failed runs)``; draws with a failed run are left out."""
        definitions = {d.name: d for d in kpi_definitions(self.scenario)}
        primary = self.scenario.ranking.primary or (self.scenario.kpis[0] if self.scenario.kpis
                                                    else next(iter(definitions)))
        direction = definitions[primary].direction if primary in definitions else Direction.MINIMIZE
        ok = runs[runs["status"] == "ok"] if "status" in runs else runs
        failed = int(len(runs) - len(ok))
        wide = ok.pivot(index="draw", columns="strategy", values=KPI_PREFIX + primary).dropna()
        return paired_table(wide, direction, self.options.confidence), primary, direction, failed

"""A live twin: keep the current state from telemetry, forecast from it, recommend a strategy.

Forecasts start from the latest bed census instead of from empty (a warm start), run every strategy
on the same sampled futures (common random numbers), and compare them on the scenario's primary KPI
with paired differences against the best.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from twinworld.errors import ScenarioError
from twinworld.experiments.run import run
from twinworld.scenario.uncertain import sample_values, uncertainties
from twinworld.systems.hospital.config import Census, HospitalRegionConfig

__all__ = ["LiveTwin", "Recommendation"]


@dataclass
class Recommendation:
    """The ranked strategies of one forecast round."""

    primary: str
    direction: str
    table: pd.DataFrame          # strategy, mean, ci_low, ci_high, diff_vs_best, share_best
    recommended: str
    samples: int
    census: dict[str, tuple[int, int]]
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return {"recommended": self.recommended, "primary": self.primary, "direction": self.direction,
                "samples": self.samples, "census": {k: list(v) for k, v in self.census.items()},
                "strategies": self.table.to_dict(orient="records"), "wall_s": round(self.wall_s, 3)}


class LiveTwin:
    """Forecasts a hospital region's next days from its current census.

    Parameters
    ----------
    scenario
        A loaded scenario with one ``hospital_region`` system.
    system
        Its name (default: the only hospital region).
    """

    def __init__(self, scenario: Any, system: str | None = None) -> None:
        regions = [n for n, c in scenario.systems.items() if isinstance(c, HospitalRegionConfig)]
        if system is None and len(regions) != 1:
            raise ScenarioError.single("the live twin needs exactly one hospital_region system "
                                       "(or name one)", path="systems")
        self.system = system or regions[0]
        self.scenario = scenario
        self.census: dict[str, tuple[int, int]] = {}

    @property
    def hospitals(self) -> set[str]:
        return set(self.scenario.systems[self.system].hospital_names())

    def update(self, hospital: str, ward_occupied: int, icu_occupied: int) -> None:
        self.census[hospital] = (ward_occupied, icu_occupied)

    def current_scenario(self) -> Any:
        """The scenario with each hospital's census replaced by the latest reading (capped at beds)."""
        config = self.scenario.systems[self.system]
        hospitals = []
        for spec in config.hospitals:
            if spec.name in self.census:
                ward, icu = self.census[spec.name]
                spec = spec.model_copy(update={"census": Census(ward=min(ward, spec.ward_beds),
                                                                icu=min(icu, spec.icu_beds))})
            hospitals.append(spec)
        systems = {**self.scenario.systems, self.system: config.model_copy(update={"hospitals": hospitals})}
        current = self.scenario.model_copy(update={"systems": systems})
        current._registry = self.scenario._registry
        return current

    def forecast(self, samples: int = 20, *, seed: int = 0) -> Recommendation:
        """Run every strategy on ``samples`` sampled futures from the current state and rank them."""
        started = time.perf_counter()
        scenario = self.current_scenario()
        registry = scenario.registry
        primary = scenario.ranking.primary or (scenario.kpis[0] if scenario.kpis else "patients_turned_away")
        kpi = registry.kpi(primary)
        direction = kpi.direction if kpi else "minimize"
        rows = []
        for i in range(samples):
            sample_seed = seed * 100_003 + i
            values = sample_values(scenario, sample_seed) if uncertainties(scenario) else {}
            for strategy in scenario.strategies:
                result = run(scenario, strategy, sample_seed, values=values)
                rows.append({"sample": i, "strategy": strategy, "value": result.kpis[primary]})
        frame = pd.DataFrame(rows).pivot(index="sample", columns="strategy", values="value")
        table = _paired_table(frame, direction)
        return Recommendation(primary, direction, table, str(table.iloc[0]["strategy"]), samples,
                              dict(self.census), time.perf_counter() - started)


def _paired_table(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Per strategy: mean with a t interval, mean paired difference to the best, P(best) (ties split).

    ``frame`` has one row per sampled future and one column per strategy (paired by row).
    """
    from twinworld.analysis.stats import mean_ci, prob_best

    sign = 1.0 if direction == "minimize" else -1.0
    best = (frame.mean() * sign).idxmin()
    shares = prob_best(frame, direction)
    rows = []
    for strategy in frame.columns:
        ci = mean_ci(frame[strategy].to_numpy())
        rows.append({"strategy": strategy, "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
                     "diff_vs_best": float((frame[strategy] - frame[best]).mean()),
                     "share_best": float(shares[strategy])})
    table = pd.DataFrame(rows)
    return table.sort_values("mean", ascending=direction == "minimize", kind="stable").reset_index(drop=True)

"""Adaptive replication: add replications until the leader is separated or the budget is spent.

The procedure is Kim and Nelson's fully sequential KN procedure (Kim & Nelson 2001, "A fully
sequential procedure for indifference-zone selection in simulation", ACM TOMACS 11(3)), which is
valid with common random numbers. After a first stage of ``n0`` observations per strategy it
estimates the variance of every pairwise difference, then looks at one more observation at a
time and eliminates strategy ``i`` as soon as its mean falls below another survivor's by more than
a shrinking margin ``W_il(r) = max(0, delta / (2 r) (h^2 S_il^2 / delta^2 - r))``. When a single
strategy survives it is, with probability at least ``confidence``, the best or within ``delta``
(the indifference zone) of the best, provided the observations are normal.

Here one observation is a block ``(scenario_index, replication)``; the blocks are taken replication
by replication, so adding a replication to the sweep appends observations and the procedure goes on
where it stopped. A sweep always runs every strategy, so eliminated strategies still cost runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twinworld.analysis.results import SweepResults, as_results
from twinworld.analysis.stats import paired_wide
from twinworld.errors import SweepError

__all__ = ["kn_select", "kn_h2", "SelectionResult", "select_until_confident"]


def kn_h2(k: int, n0: int, confidence: float) -> float:
    """KN's constant ``h^2 = 2 eta (n0 - 1)`` with ``eta = ((2 alpha / (k - 1))^(-2/(n0-1)) - 1) / 2``."""
    alpha = 1 - confidence
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1)
    return 2 * eta * (n0 - 1)


def kn_select(values: np.ndarray, *, delta: float, confidence: float = 0.95, n0: int = 10,
              larger_is_better: bool = True) -> tuple[np.ndarray, int | None]:
    """Run KN over the rows of ``values`` (observations x strategies) in order.

    Returns
    -------
    alive, stopped_at
        Boolean mask of the strategies still in contention, and the observation count at which a
        single one remained (``None`` if the data ran out first).
    """
    x = np.asarray(values, dtype=float) * (1.0 if larger_is_better else -1.0)
    n, k = x.shape
    if k == 1:
        return np.ones(1, dtype=bool), min(n, n0)
    if n0 < 2:
        raise ValueError("KN needs a first stage of at least 2 observations")
    if delta <= 0:
        raise ValueError("the indifference zone delta must be positive")
    alive = np.ones(k, dtype=bool)
    if n < n0:
        return alive, None
    first = x[:n0]
    s2 = (first[:, :, None] - first[:, None, :]).var(axis=0, ddof=1)
    h2 = kn_h2(k, n0, confidence)
    sums = np.cumsum(x, axis=0)
    for r in range(n0, n + 1):
        means = sums[r - 1] / r
        margin = np.maximum(0.0, delta / (2 * r) * (h2 * s2 / delta ** 2 - r))
        beaten = (means[:, None] < means[None, :] - margin) & alive[None, :]
        np.fill_diagonal(beaten, False)
        alive = alive & ~beaten.any(axis=1)
        if alive.sum() == 1:
            return alive, r
    return alive, None


@dataclass
class SelectionResult:
    """How adaptive replication ended.

    ``reason`` is ``"separated"`` (one strategy survived KN), ``"budget"`` (the run budget would be
    exceeded by another replication) or ``"no_more_data"`` (the callable added nothing).
    """

    selected: str
    separated: bool
    reason: str
    survivors: list[str]
    observations: int
    replications: int
    runs: int
    budget_runs: int
    delta: float
    confidence: float
    kpi: str
    history: pd.DataFrame
    results: SweepResults | None = field(default=None, repr=False)

    @property
    def message(self) -> str:
        """What happened, in plain words."""
        conf = f"{self.confidence:.0%}"
        if self.separated:
            return (f"Separated: KN selected '{self.selected}' on mean {self.kpi} at {conf} "
                    f"confidence (indifference zone {self.delta:.3g}) after {self.observations} "
                    f"paired observations per strategy ({self.replications} replication(s), "
                    f"{self.runs} runs of a budget of {self.budget_runs}); every other strategy "
                    f"was eliminated.")
        rivals = ", ".join(repr(s) for s in self.survivors if s != self.selected)
        why = ("the run budget is spent" if self.reason == "budget"
               else "the sweep added no new runs")
        return (f"NOT separated: {why} ({self.runs} runs of {self.budget_runs}, "
                f"{self.replications} replication(s), {self.observations} paired observations per "
                f"strategy). Still in contention at {conf}: '{self.selected}' (leader so far) and "
                f"{rivals}.")


def _default_delta(wide: pd.DataFrame) -> float:
    means = wide.mean()
    scale = float(np.abs(means).median())
    spread = float(wide.stack().std()) if wide.size > 1 else 0.0
    return 0.05 * scale if scale > 0 else (0.1 * spread if spread > 0 else 1.0)


def select_until_confident(source: SweepResults | pd.DataFrame | str,
                           extend: Callable[[int], Any], *, kpi: str | None = None,
                           budget_runs: int, delta: float | None = None,
                           confidence: float | None = None, n0: int = 20, step: int = 1,
                           directions: dict[str, str] | None = None) -> SelectionResult:
    """Add replications through ``extend`` until KN separates a leader or the budget is spent.

    Parameters
    ----------
    source
        The results so far (sweep folder, :class:`SweepResults` or runs DataFrame).
    extend
        ``extend(replications)`` makes the sweep hold ``replications`` replications of every
        scenario (computing only the missing runs) and returns the results (any ``source`` form).
        For a sweep folder: ``lambda r: twinworld.sweep(scenario_file, out=DIR, replications=r)``.
    kpi
        KPI to select on (default: the ranking's primary). Selection is on the mean.
    budget_runs
        Most runs in total (existing ones included) the procedure may lead to.
    delta
        Indifference zone: the smallest difference in mean worth telling apart, in the KPI's unit
        (default: 5% of the median absolute mean of the strategies in the first data).
    confidence
        Probability of correct selection (default: the ranking's ``confidence``).
    n0
        First-stage size: replications are added until this many blocks are in (fewer only if the
        budget runs out first; at least 2). It is then fixed.
    step
        Replications added per round.
    """
    results = as_results(source, directions=directions)
    kpi = kpi or results.ranking.primary or results.kpis[0]
    confidence = confidence or results.ranking.confidence
    direction = results.direction(kpi)
    strategies = results.strategies
    history: list[dict[str, int]] = []
    first_stage: int | None = None
    while True:
        wide = paired_wide(results.ok, kpi, strategies)
        replications, runs = results.replications(), len(results.runs)
        per_replication = results.scenarios() * len(strategies)
        can_grow = runs + step * per_replication <= budget_runs
        grew = not history or history[-1]["runs"] != runs
        if first_stage is None and (len(wide) >= n0 or not can_grow or not grew):
            first_stage = max(2, min(n0, len(wide)))  # fixed once, before any elimination
            delta = delta if delta is not None else _default_delta(wide.iloc[:first_stage])
        alive, stopped = np.ones(len(strategies), dtype=bool), None
        if first_stage is not None and len(wide) >= first_stage:
            alive, stopped = kn_select(wide.to_numpy(), delta=float(delta), confidence=confidence,
                                       n0=first_stage, larger_is_better=direction == "maximize")
        survivors = [s for s, a in zip(strategies, alive) if a]
        history.append({"replications": replications, "runs": runs, "observations": len(wide),
                        "survivors": len(survivors)})
        reason = ("separated" if stopped is not None else "budget" if not can_grow
                  else "no_more_data" if not grew else None)
        if reason:
            means = wide[survivors].mean()
            leader = str(means.idxmin() if direction == "minimize" else means.idxmax())
            return SelectionResult(leader, reason == "separated", reason, survivors,
                                   stopped or len(wide), replications, runs, budget_runs,
                                   float(delta or math.nan), confidence, kpi, pd.DataFrame(history),
                                   results)
        results = as_results(extend(replications + step), directions=directions)
        if results.strategies != strategies:
            raise SweepError("the extended sweep has different strategies than the first data")

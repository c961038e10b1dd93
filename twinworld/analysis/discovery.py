"""Scenario discovery: under which sampled disruption parameters does a strategy fail?

PRIM (the Patient Rule Induction Method of Friedman and Fisher, 1999), written with numpy: start
with a box holding every run, repeatedly peel off the ``peel_alpha`` share of runs at the low or
high end of one parameter, choosing the peel that leaves the highest failure rate, until the box
holds fewer than ``min_mass`` of the runs. Every box on the way has a *coverage* (the share of all
failures that fall inside it) and a *density* (the failure rate inside it). The box reported is the
one that balances the two best (highest harmonic mean), with restrictions that do not matter
dropped, and it is said in plain words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from twinworld.analysis.results import KPI_PREFIX, PARAM_PREFIX, SweepResults, as_results
from twinworld.analysis.stats import paired_wide, regret
from twinworld.errors import SweepError
from twinworld.scenario.model import Constraint

__all__ = ["Box", "Finding", "prim", "discover", "failure_mask", "FAILURE_MODES"]

FAILURE_MODES = ("auto", "constraints", "worst_decile", "regret")


@dataclass(frozen=True)
class Box:
    """Limits on parameters (``low <= x <= high``; ``None`` = unbounded) with its quality."""

    limits: dict[str, tuple[float | None, float | None]]
    coverage: float
    density: float
    mass: float
    count: int

    def contains(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``frame`` inside the box."""
        inside = np.ones(len(frame), dtype=bool)
        for name, (low, high) in self.limits.items():
            x = frame[name].to_numpy(dtype=float)
            if low is not None:
                inside &= x >= low
            if high is not None:
                inside &= x <= high
        return inside

    def describe(self) -> str:
        """The limits in words: ``patient_surge.multiplier exceeds 1.7 and ...``."""
        parts = []
        for name, (low, high) in self.limits.items():
            label = name[len(PARAM_PREFIX):] if name.startswith(PARAM_PREFIX) else name
            num = _hours if label.endswith((".start", ".duration", "_h")) else _num
            if low is not None and high is not None:
                parts.append(f"{label} is between {num(low)} and {num(high)}")
            elif low is not None:
                parts.append(f"{label} exceeds {num(low)}")
            elif high is not None:
                parts.append(f"{label} is below {num(high)}")
        return " and ".join(parts) if parts else "(any parameter values)"


@dataclass
class Finding:
    """What discovery found for one strategy."""

    strategy: str
    failure: str
    failures: int
    runs: int
    box: Box | None
    text: str
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def base_rate(self) -> float:
        return self.failures / self.runs if self.runs else math.nan


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _hours(value: float) -> str:
    """Simulated hours in words: ``166.3`` -> ``6.93d``, ``12`` -> ``12h``."""
    return f"{value / 24:.3g}d" if abs(value) >= 48 else f"{value:.3g}h"


def _f1(coverage: float, density: float) -> float:
    return 0.0 if coverage + density == 0 else 2 * coverage * density / (coverage + density)


def _peel_candidates(x: np.ndarray, inside: np.ndarray, alpha: float):
    """The low and high peel of one parameter: (new bound, which side, new inside mask)."""
    values = x[inside]
    if len(values) < 2 or values.min() == values.max():
        return
    for side in ("low", "high"):
        q = np.quantile(values, alpha if side == "low" else 1 - alpha)
        removed = x < q if side == "low" else x > q
        removed &= inside
        if not removed.any():
            removed = inside & ((x <= q) if side == "low" else (x >= q))
        kept = inside & ~removed
        if not kept.any():
            continue
        if side == "low":
            bound = (x[removed].max() + x[kept].min()) / 2
        else:
            bound = (x[removed].min() + x[kept].max()) / 2
        yield float(bound), side, kept


def prim(frame: pd.DataFrame, failed: np.ndarray | Sequence[bool], *, peel_alpha: float = 0.05,
         min_mass: float = 0.05) -> list[Box]:
    """The PRIM peeling trajectory: boxes from "everything" to the smallest allowed box.

    Parameters
    ----------
    frame
        One column per parameter, one row per run.
    failed
        Whether each run failed.
    peel_alpha
        Share of the box's runs removed by one peel.
    min_mass
        Stop when the box would hold fewer than this share of all runs.
    """
    x = frame.to_numpy(dtype=float)
    y = np.asarray(failed, dtype=bool)
    total, total_failed = len(y), int(y.sum())
    inside = np.ones(total, dtype=bool)
    limits: dict[int, list[float | None]] = {}

    def box_of(mask: np.ndarray) -> Box:
        count = int(mask.sum())
        hits = int(y[mask].sum())
        named = {frame.columns[j]: (lo, hi) for j, (lo, hi) in sorted(limits.items())}
        return Box(named, hits / total_failed if total_failed else math.nan,
                   hits / count if count else math.nan, count / total, count)

    trajectory = [box_of(inside)]
    while True:
        best = None
        for j in range(x.shape[1]):
            for bound, side, kept in _peel_candidates(x[:, j], inside, peel_alpha):
                if kept.sum() < min_mass * total:
                    continue
                score = (y[kept].mean(), kept.sum())
                if best is None or score > best[0]:
                    best = (score, j, side, bound, kept)
        if best is None or y[inside].all():
            break
        _, j, side, bound, kept = best
        lo_hi = limits.setdefault(j, [None, None])
        lo_hi[0 if side == "low" else 1] = bound
        inside = kept
        trajectory.append(box_of(inside))
    return trajectory


def _simplify(box: Box, frame: pd.DataFrame, y: np.ndarray, tolerance: float = 0.01,
              max_restrictions: int = 3) -> Box:
    """Drop restrictions whose removal keeps the coverage/density balance within ``tolerance``,
    and the least useful ones beyond ``max_restrictions`` (a box is read by people)."""
    total_failed = int(y.sum())
    current = box
    while len(current.limits) > 1:
        options = []
        for name in current.limits:
            limits = {k: v for k, v in current.limits.items() if k != name}
            trial = Box(limits, 0, 0, 0, 0)
            mask = trial.contains(frame)
            hits = int(y[mask].sum())
            cov = hits / total_failed if total_failed else 0.0
            dens = hits / mask.sum() if mask.sum() else 0.0
            options.append((_f1(cov, dens), Box(limits, cov, dens, mask.mean(), int(mask.sum()))))
        score, candidate = max(options, key=lambda item: item[0])
        too_many = len(current.limits) > max_restrictions
        if score < _f1(current.coverage, current.density) - tolerance and not too_many:
            break
        current = candidate
    return current


def failure_mask(results: SweepResults, strategy: str, *, kpi: str | None = None,
                 failure: str = "auto", threshold: float | None = None,
                 constraints: Sequence[Constraint] | None = None) -> tuple[pd.DataFrame, str]:
    """The strategy's finished runs with a boolean ``failed`` column, and the rule in words.

    ``failure``: ``constraints`` (violates any ``ranking.constraints`` entry), ``worst_decile``
    (``kpi`` in the worst 10% of all strategies' runs, or beyond ``threshold`` when given),
    ``regret`` (regret on ``kpi`` above ``threshold``, default: the 90th percentile of all regrets),
    or ``auto`` (constraints when the scenario has any, else worst decile). ``constraints``
    replaces the scenario's ``ranking.constraints``.
    """
    if failure not in FAILURE_MODES:
        raise SweepError(f"failure must be one of {', '.join(FAILURE_MODES)}, not {failure!r}")
    kpi = kpi or results.ranking.primary or results.kpis[0]
    direction = results.direction(kpi)
    ok = results.ok
    constraints = results.ranking.constraints if constraints is None else list(constraints)
    mode = ("constraints" if constraints else "worst_decile") if failure == "auto" else failure
    runs = ok[ok["strategy"] == strategy].copy()
    if mode == "constraints":
        failed = np.zeros(len(runs), dtype=bool)
        words = []
        for c in constraints:
            x = runs[KPI_PREFIX + c.kpi].to_numpy(dtype=float)
            if c.max is not None:
                failed |= x > c.max
                words.append(f"{c.kpi} > {_num(c.max)}")
            if c.min is not None:
                failed |= x < c.min
                words.append(f"{c.kpi} < {_num(c.min)}")
        runs["failed"] = failed
        return runs, " or ".join(words)
    if mode == "worst_decile":
        pooled = ok[KPI_PREFIX + kpi].to_numpy(dtype=float)
        worse = ">" if direction == "minimize" else "<"
        cut = threshold if threshold is not None else float(
            np.nanquantile(pooled, 0.9 if direction == "minimize" else 0.1))
        x = runs[KPI_PREFIX + kpi].to_numpy(dtype=float)
        runs["failed"] = x > cut if direction == "minimize" else x < cut
        return runs, f"{kpi} {worse} {_num(cut)}" + ("" if threshold is not None else
                                                     " (worst 10% of all runs)")
    wide = paired_wide(ok, kpi)
    regrets = regret(wide, direction)
    cut = threshold if threshold is not None else float(np.quantile(regrets.to_numpy(), 0.9))
    own = regrets[strategy].rename("regret").reset_index()
    runs = runs.merge(own, on=["scenario_index", "replication"], how="inner")
    runs["failed"] = runs["regret"].to_numpy() > cut
    return runs, f"regret on {kpi} > {_num(cut)}"


def _words(strategy: str, rule: str, failures: int, runs: int, box: Box | None) -> str:
    rate = failures / runs if runs else math.nan
    head = f"'{strategy}' fails ({rule}) in {failures} of {runs} runs ({rate:.0%})"
    if failures == 0:
        return f"'{strategy}' never fails ({rule}) in {runs} runs."
    if failures == runs:
        return f"{head}: in every run, whatever the parameters."
    if box is None or not box.limits:
        return f"{head}; no parameter region concentrates the failures."
    few = (f" Only {failures} failures in {runs} runs: indicative, not conclusive."
           if failures < 10 or runs < 50 else "")
    return (f"{head}. {strategy} fails when {box.describe()}: {box.coverage:.0%} of its failures "
            f"fall there (coverage) and it fails in {box.density:.0%} of the runs there (density), "
            f"against {rate:.0%} overall.{few}")


def discover(source: SweepResults | pd.DataFrame | str, *, kpi: str | None = None,
             failure: str = "auto", threshold: float | None = None,
             strategies: Sequence[str] | None = None, parameters: Sequence[str] | None = None,
             peel_alpha: float = 0.05, min_mass: float = 0.05,
             constraints: Sequence[Constraint] | None = None) -> list[Finding]:
    """For each strategy, the parameter region where it fails, with coverage and density.

    Parameters
    ----------
    source
        A sweep folder, :class:`SweepResults` or runs DataFrame.
    kpi, failure, threshold, constraints
        What counts as failing (see :func:`failure_mask`).
    strategies
        Which strategies (default: all).
    parameters
        Which ``param.*`` columns may be restricted (default: every one that varies).

    Returns
    -------
    list of Finding
        One per strategy, each with a plain-words ``text``.
    """
    results = as_results(source)
    columns = list(parameters) if parameters is not None else [
        c for c in results.parameters if results.runs[c].nunique(dropna=True) > 1]
    findings = []
    for name in strategies or results.strategies:
        runs, rule = failure_mask(results, name, kpi=kpi, failure=failure, threshold=threshold,
                                  constraints=constraints)
        y = runs["failed"].to_numpy(dtype=bool)
        box, trajectory = None, pd.DataFrame()
        if columns and 0 < y.sum() < len(y):
            frame = runs[columns].astype(float)
            boxes = prim(frame, y, peel_alpha=peel_alpha, min_mass=min_mass)
            trajectory = pd.DataFrame([{"coverage": b.coverage, "density": b.density,
                                        "mass": b.mass, "restricted": len(b.limits)} for b in boxes])
            chosen = max(boxes, key=lambda b: _f1(b.coverage, b.density))
            box = _simplify(chosen, frame, y) if chosen.limits else None
        findings.append(Finding(name, rule, int(y.sum()), len(y), box,
                                _words(name, rule, int(y.sum()), len(y), box), trajectory,
                                runs[[*columns, "failed"]]))
    return findings

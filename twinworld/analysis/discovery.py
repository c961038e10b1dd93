"""Scenario discovery: under which sampled disruption parameters does a strategy fail, if any?

PRIM (the Patient Rule Induction Method of Friedman and Fisher, 1999, "Bump hunting in
high-dimensional data", Statistics and Computing 9(2)), written with numpy:

- *peeling*: start with a box holding every run and repeatedly peel off the ``peel_alpha`` share of
  runs at the low or high end of one parameter, choosing the peel that leaves the highest failure
  rate, until the box holds fewer than ``min_mass`` of the runs. Every box on the way has a
  *coverage* (the share of all failures inside it) and a *density* (the failure rate inside it);
  the one balancing the two best (highest harmonic mean) is kept;
- *pasting*: then widen that box again, a ``paste_alpha`` slice at a time along any restricted
  side, while that raises its density or keeps it and covers more failures (peeling is greedy
  and may cut too far);
- restrictions that do not matter are dropped, and the box is said in plain words.

A box found this way always exists, even on pure noise: PRIM maximises density, and some corner of
any sample is denser than the rest. So discovery holds back half of the scenario samples (by
``scenario_index``, replications stay together), searches on the other half, and judges the box
only on the held-out runs: Fisher's exact test (one-sided) of "failing is more likely inside the
box than outside", Holm-corrected over the strategies examined. Coverage and density are reported
on the held-out runs with Wilson intervals. A box that does not pass is not reported as a finding;
the text says plainly that no region concentrates the failures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from twinworld.analysis.results import KPI_PREFIX, PARAM_PREFIX, SweepResults, as_results
from twinworld.analysis.stats import holm, paired_wide, regret, wilson_ci
from twinworld.core.rng import name_key
from twinworld.errors import SweepError
from twinworld.scenario.model import Constraint

__all__ = ["Box", "Finding", "prim", "paste", "discover", "find_box", "holdout_test", "split_blocks", "failure_mask",
           "FAILURE_MODES", "BoxTest"]

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


@dataclass(frozen=True)
class BoxTest:
    """How a box found on some runs does on runs it was not found on.

    ``inside_failed`` of ``inside`` held-out runs in the box failed; ``outside_failed`` of
    ``outside`` outside it. ``p_value``: Fisher's exact test, one-sided (failing more likely
    inside). Coverage and density come with Wilson intervals at ``confidence``.
    """

    inside: int
    inside_failed: int
    outside: int
    outside_failed: int
    p_value: float
    confidence: float = 0.95

    @property
    def failures(self) -> int:
        return self.inside_failed + self.outside_failed

    @property
    def coverage(self) -> float:
        return self.inside_failed / self.failures if self.failures else math.nan

    @property
    def density(self) -> float:
        return self.inside_failed / self.inside if self.inside else math.nan

    @property
    def outside_rate(self) -> float:
        return self.outside_failed / self.outside if self.outside else math.nan

    @property
    def coverage_ci(self) -> tuple[float, float]:
        return wilson_ci(self.inside_failed, self.failures, self.confidence)

    @property
    def density_ci(self) -> tuple[float, float]:
        return wilson_ci(self.inside_failed, self.inside, self.confidence)


@dataclass
class Finding:
    """What discovery found for one strategy.

    ``box`` is set only when the region held on the held-out runs (``significant``); ``candidate``
    is the box the search found either way. ``test`` has the held-out counts, coverage and
    density with intervals, ``p_value`` and ``p_holm`` the held-out test before and after Holm.
    """

    strategy: str
    failure: str
    failures: int
    runs: int
    box: Box | None
    text: str
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    candidate: Box | None = None
    test: BoxTest | None = None
    p_value: float = math.nan
    p_holm: float = math.nan
    significant: bool = False

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


def _peels(x: np.ndarray, y: np.ndarray, inside: np.ndarray, alpha: float, min_count: float):
    """The best low or high peel over every parameter at once: (column, side, bound, kept) or None."""
    values = x[inside]
    low_q, high_q = np.quantile(values, [alpha, 1 - alpha], axis=0)
    varies = values.min(axis=0) < values.max(axis=0)
    best = None
    for side, q in (("low", low_q), ("high", high_q)):
        removed = (x < q) if side == "low" else (x > q)
        removed &= inside[:, None]
        empty = ~removed.any(axis=0)  # ties at the quantile: peel them all
        if empty.any():
            ties = (x <= q) if side == "low" else (x >= q)
            removed[:, empty] = (ties & inside[:, None])[:, empty]
        kept = inside[:, None] & ~removed
        counts = kept.sum(axis=0)
        hits = (kept & y[:, None]).sum(axis=0)
        density = np.where(counts > 0, hits / np.maximum(counts, 1), -1.0)
        allowed = varies & (counts >= min_count) & (counts > 0) & removed.any(axis=0)
        for j in np.flatnonzero(allowed):
            score = (density[j], counts[j])
            if best is None or score > best[0]:
                if side == "low":
                    bound = (x[removed[:, j], j].max() + x[kept[:, j], j].min()) / 2
                else:
                    bound = (x[removed[:, j], j].min() + x[kept[:, j], j].max()) / 2
                best = (score, j, side, float(bound), kept[:, j])
    return best


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
    inside = np.ones(len(y), dtype=bool)
    limits: dict[int, list[float | None]] = {}
    trajectory = [_box(frame, y, inside, limits)]
    while len(y) and not y[inside].all():
        best = _peels(x, y, inside, peel_alpha, min_mass * len(y))
        if best is None:
            break
        _, j, side, bound, kept = best
        limits.setdefault(j, [None, None])[0 if side == "low" else 1] = bound
        inside = kept
        trajectory.append(_box(frame, y, inside, limits))
    return trajectory


def _box(frame: pd.DataFrame, y: np.ndarray, mask: np.ndarray,
         limits: dict[int, list[float | None]] | dict[str, tuple[float | None, float | None]]) -> Box:
    count, total_failed = int(mask.sum()), int(y.sum())
    hits = int(y[mask].sum())
    items = sorted(limits.items()) if all(isinstance(k, (int, np.integer)) for k in limits) \
        else list(limits.items())  # column order from peeling; as given when pasting
    named = {(frame.columns[k] if isinstance(k, (int, np.integer)) else k): tuple(v) for k, v in items}
    named = {k: v for k, v in named.items() if v != (None, None)}
    return Box(named, hits / total_failed if total_failed else math.nan,
               hits / count if count else math.nan, count / len(y) if len(y) else math.nan, count)


def paste(box: Box, frame: pd.DataFrame, failed: np.ndarray | Sequence[bool], *,
          paste_alpha: float = 0.05) -> Box:
    """Widen ``box`` while that raises its density, or keeps it and gains coverage (Friedman &
    Fisher's pasting).

    Each step tries, for every restricted side, taking in the ``paste_alpha`` share (of the box's
    runs) of outside runs nearest that side that meet every other limit, and keeps the one that
    raises the density most. A side pushed past every run becomes unbounded.
    """
    y = np.asarray(failed, dtype=bool)
    limits = dict(box.limits)
    current = _box(frame, y, box.contains(frame), limits)
    while True:
        best = None
        step = max(1, int(math.ceil(paste_alpha * current.count)))
        for name, (low, high) in limits.items():
            x = frame[name].to_numpy(dtype=float)
            others = Box({k: v for k, v in limits.items() if k != name}, 0, 0, 0, 0).contains(frame)
            for side, bound in (("low", low), ("high", high)):
                if bound is None:
                    continue
                beyond = others & ((x < bound) if side == "low" else (x > bound))
                if not beyond.any():
                    continue
                order = np.sort(x[beyond])[::-1] if side == "low" else np.sort(x[beyond])
                reach = order[min(step, len(order)) - 1]
                rest = order[step:] if len(order) > step else np.array([])
                new = (None if not len(rest) else (reach + rest[0]) / 2)
                trial = dict(limits)
                trial[name] = (new, high) if side == "low" else (low, new)
                candidate = _box(frame, y, Box(trial, 0, 0, 0, 0).contains(frame), trial)
                gains = candidate.density > current.density or (
                    candidate.density == current.density and candidate.coverage > current.coverage)
                if gains and (best is None or (candidate.density, candidate.coverage) >
                              (best[0].density, best[0].coverage)):
                    best = (candidate, trial)
        if best is None:
            return current
        current, limits = best
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


def find_box(frame: pd.DataFrame, failed: np.ndarray | Sequence[bool], *, peel_alpha: float = 0.05,
             paste_alpha: float = 0.05, min_mass: float = 0.05) -> tuple[Box | None, list[Box]]:
    """PRIM on these runs: peel, keep the best-balanced box, paste, drop needless restrictions.

    Returns the box (None when no restriction is left) and the peeling trajectory.
    """
    y = np.asarray(failed, dtype=bool)
    trajectory = prim(frame, y, peel_alpha=peel_alpha, min_mass=min_mass)
    chosen = max(trajectory, key=lambda b: _f1(b.coverage, b.density))
    if not chosen.limits:
        return None, trajectory
    box = _simplify(paste(chosen, frame, y, paste_alpha=paste_alpha), frame, y)
    return (box if box.limits else None), trajectory


def holdout_test(box: Box, frame: pd.DataFrame, failed: np.ndarray | Sequence[bool], *,
                 confidence: float = 0.95) -> BoxTest:
    """Judge ``box`` on runs it was not found on: counts, Fisher's exact test (one-sided)."""
    y = np.asarray(failed, dtype=bool)
    inside = box.contains(frame)
    a, b = int((inside & y).sum()), int((inside & ~y).sum())
    c, d = int((~inside & y).sum()), int((~inside & ~y).sum())
    p = 1.0 if a + b == 0 or c + d == 0 else float(
        sps.fisher_exact([[a, b], [c, d]], alternative="greater").pvalue)
    return BoxTest(a + b, a, c + d, c, p, confidence)


def split_blocks(blocks: np.ndarray, *, share: float, seed: int, label: str) -> np.ndarray:
    """Boolean mask of the rows whose block (scenario sample) goes to the search half."""
    unique = np.unique(blocks)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=name_key("discovery", label))))
    chosen = rng.permutation(unique)[: int(math.ceil(share * len(unique)))]
    return np.isin(blocks, chosen)


def _pct(low: float, high: float) -> str:
    return f"{low:.0%}-{high:.0%}"


def _words(strategy: str, rule: str, failures: int, runs: int, finding: Finding,
           alpha: float, tested: int) -> str:
    rate = failures / runs if runs else math.nan
    head = f"'{strategy}' fails ({rule}) in {failures} of {runs} runs ({rate:.0%})"
    if failures == 0:
        return f"'{strategy}' never fails ({rule}) in {runs} runs."
    if failures == runs:
        return f"{head}: in every run, whatever the parameters."
    test, box = finding.test, finding.candidate
    if box is None or test is None:
        return (f"{head}; no parameter region concentrates the failures (the search found no box "
                f"worth a restriction).")
    holm_note = f", Holm-corrected over {tested} strategies" if tested > 1 else ""
    held = (f"on {test.inside + test.outside} held-out runs it fails in {test.density:.0%} of the "
            f"{test.inside} inside the box (density, {_pct(*test.density_ci)}) against "
            f"{test.outside_rate:.0%} outside")
    if not finding.significant:
        return (f"{head}; no parameter region concentrates the failures: the best box found on half "
                f"of the scenario samples ({box.describe()}) did not hold on the other half ({held}; "
                f"p = {finding.p_holm:.2g}{holm_note}).")
    few = (f" Only {test.failures} held-out failures: indicative more than precise."
           if test.failures < 10 else "")
    return (f"{head}. {strategy} fails when {box.describe()}: {held}, and {test.coverage:.0%} of its "
            f"held-out failures fall there (coverage, {_pct(*test.coverage_ci)}); Fisher p = "
            f"{finding.p_holm:.2g}{holm_note}, found on other runs than these.{few}")


def discover(source: SweepResults | pd.DataFrame | str, *, kpi: str | None = None,
             failure: str = "auto", threshold: float | None = None,
             strategies: Sequence[str] | None = None, parameters: Sequence[str] | None = None,
             peel_alpha: float = 0.05, paste_alpha: float = 0.05, min_mass: float = 0.05,
             constraints: Sequence[Constraint] | None = None, holdout: float = 0.5,
             significance: float = 0.05, seed: int = 0) -> list[Finding]:
    """For each strategy, the parameter region where it fails, if one holds up on held-out runs.

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
    peel_alpha, paste_alpha, min_mass
        PRIM's peeling and pasting steps and smallest box (shares of runs).
    holdout
        Share of the scenario samples held out to judge the box (the rest finds it).
    significance
        Level of the held-out test, after Holm's correction over the strategies examined.
    seed
        Seed of the split into search and held-out samples.

    Returns
    -------
    list of Finding
        One per strategy, each with a plain-words ``text``.
    """
    if not 0 < holdout < 1:
        raise SweepError(f"holdout must be a share in (0, 1), not {holdout}")
    results = as_results(source)
    columns = list(parameters) if parameters is not None else [
        c for c in results.parameters if results.runs[c].nunique(dropna=True) > 1]
    findings: list[Finding] = []
    for name in strategies or results.strategies:
        runs, rule = failure_mask(results, name, kpi=kpi, failure=failure, threshold=threshold,
                                  constraints=constraints)
        y = runs["failed"].to_numpy(dtype=bool)
        finding = Finding(name, rule, int(y.sum()), len(y), None, "", data=runs[[*columns, "failed"]])
        if columns and 0 < y.sum() < len(y):
            _search_and_test(finding, runs[columns].astype(float), y, runs["scenario_index"].to_numpy(),
                             holdout=holdout, seed=seed, peel_alpha=peel_alpha,
                             paste_alpha=paste_alpha, min_mass=min_mass)
        findings.append(finding)
    _judge(findings, significance)
    return findings


def _search_and_test(finding: Finding, frame: pd.DataFrame, y: np.ndarray, blocks: np.ndarray, *,
                     holdout: float, seed: int, peel_alpha: float, paste_alpha: float,
                     min_mass: float) -> None:
    search = split_blocks(blocks, share=1 - holdout, seed=seed, label=finding.strategy)
    train, test = frame[search], frame[~search]
    if not (0 < y[search].sum() < search.sum()) or not len(test):
        return
    box, trajectory = find_box(train, y[search], peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                               min_mass=min_mass)
    finding.trajectory = pd.DataFrame([{"coverage": b.coverage, "density": b.density, "mass": b.mass,
                                        "restricted": len(b.limits)} for b in trajectory])
    if box is not None:
        finding.candidate = box
        finding.test = holdout_test(box, test, y[~search])
        finding.p_value = finding.test.p_value


def _judge(findings: list[Finding], significance: float) -> None:
    """Holm over the strategies that had a box to test; only boxes that pass become findings."""
    tested = [f for f in findings if f.test is not None]
    for finding, p in zip(tested, holm([f.p_value for f in tested])):
        finding.p_holm = float(p)
        finding.significant = bool(p < significance)
        finding.box = finding.candidate if finding.significant else None
    for finding in findings:
        finding.text = _words(finding.strategy, finding.failure, finding.failures, finding.runs,
                              finding, significance, len(tested))

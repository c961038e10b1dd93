"""``rank``: which strategy is best on a sweep, how sure we are, and what it risks.

The ranking follows the scenario's ``ranking:`` section (primary KPI, risk measure, confidence,
constraints); keyword arguments override it. Every comparison is paired by block
``(scenario_index, replication)``: strategies saw the same sampled disruptions and random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.analysis.compare import bootstrap_risk_differences, lower_is_better, summarize
from twinworld.analysis.discovery import Finding, discover
from twinworld.analysis.results import KPI_PREFIX, SweepResults, as_results
from twinworld.analysis.stats import RISK_MEASURES, paired_differences, paired_wide, pareto_front, wilson_ci
from twinworld.errors import SweepError
from twinworld.scenario.model import Constraint

__all__ = ["Ranking", "rank", "constraint_table", "RISK_LABELS"]

RISK_LABELS = {"mean": "mean", "cvar": "CVaR", "max_regret": "max regret",
               "mean_regret": "mean regret", "median": "median", "p90": "p90"}


@dataclass
class Ranking:
    """The outcome of :func:`rank`: tables as DataFrames plus a recommendation in plain words.

    Attributes
    ----------
    table
        The primary KPI, one row per strategy, best first: ``rank``, ``score`` (the risk measure),
        summary statistics, ``p_best``, paired ``diff_vs_leader`` / ``diff_vs_baseline`` with
        intervals and Holm p-values, ``meets_constraints``.
    summary
        Every KPI x strategy (MultiIndex ``kpi, strategy``): mean with CI, median, p90, CVaR, mean
        and max regret, probability of being best.
    vs_leader, vs_baseline
        Paired mean differences (strategy minus reference) with t intervals and Holm p-values.
    risk_vs_leader
        When the risk measure is not the mean: paired-bootstrap differences of the risk measure.
    constraints
        One row per (strategy, constraint): satisficing rate with a Wilson interval, required
        share, whether it is met.
    pareto
        Strategies no other strategy beats on every KPI in ``pareto_kpis`` (by the risk measure).
    leader
        The recommended strategy (best score among those meeting every constraint, if any do).
    separated
        Whether the leader is better than every other candidate at the chosen confidence.
    recommendation
        The above in plain words, with its uncertainty.
    discovery
        Scenario-discovery findings per strategy (empty without ``param.*`` columns).
    """

    primary: str
    direction: str
    risk: str
    confidence: float
    cvar_alpha: float
    table: pd.DataFrame
    summary: pd.DataFrame
    vs_leader: pd.DataFrame
    vs_baseline: pd.DataFrame | None
    risk_vs_leader: pd.DataFrame | None
    constraints: pd.DataFrame
    pareto: list[str]
    pareto_kpis: list[str]
    leader: str
    separated: bool
    candidates: list[str]
    recommendation: str
    notes: list[str] = field(default_factory=list)
    discovery: list[Finding] = field(default_factory=list)
    results: SweepResults | None = field(default=None, repr=False)

    @property
    def risk_label(self) -> str:
        """``CVaR90``, ``mean``, ``max regret`` ..."""
        if self.risk == "cvar":
            return f"CVaR{round(self.cvar_alpha * 100):d}"
        return RISK_LABELS[self.risk]

    def __str__(self) -> str:
        return self.recommendation


def constraint_table(results: SweepResults, constraints: Sequence[Constraint], strategies: Sequence[str],
                     confidence: float) -> pd.DataFrame:
    """Satisficing rate of each strategy for each constraint (failed runs count as not meeting)."""
    rows = []
    for c in constraints:
        column = KPI_PREFIX + c.kpi
        if column not in results.runs:
            raise SweepError(f"constraint on KPI {c.kpi!r}, which the results do not have; "
                             f"KPIs: {', '.join(results.kpis)}")
        label = " and ".join(([f"{c.kpi} <= {c.max:g}"] if c.max is not None else []) +
                             ([f"{c.kpi} >= {c.min:g}"] if c.min is not None else []))
        for name in strategies:
            x = results.runs.loc[results.runs["strategy"] == name, column].to_numpy(dtype=float)
            ok = ~np.isnan(x)
            if c.max is not None:
                ok &= x <= c.max
            if c.min is not None:
                ok &= x >= c.min
            low, high = wilson_ci(int(ok.sum()), len(x), confidence)
            rate = float(ok.mean()) if len(x) else math.nan
            rows.append({"strategy": name, "constraint": label, "rate": rate, "ci_low": low,
                         "ci_high": high, "required": c.share, "met": bool(rate >= c.share)})
    return pd.DataFrame(rows, columns=["strategy", "constraint", "rate", "ci_low", "ci_high",
                                       "required", "met"])


def _fmt(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".rstrip()


def _versus_words(r: Ranking, unit: str) -> str:
    """How the leader compares with the other candidates, in words."""
    conf = f"{r.confidence:.0%}"
    others = [s for s in r.candidates if s != r.leader]
    comp = r.risk_vs_leader if r.risk_vs_leader is not None else r.vs_leader
    on = "" if r.risk_vs_leader is None else f" in {r.risk_label}"
    how = "paired t" if r.risk_vs_leader is None else "paired bootstrap"
    if not others:
        return " It is the only candidate."
    if r.separated:
        closest = comp.loc[others]["p_holm"].idxmax()
        c = comp.loc[closest]
        return (f" It is better than every other candidate at {conf} confidence (Holm-corrected); "
                f"the closest, '{closest}', is {_fmt(abs(c['diff']), unit)} worse{on} "
                f"({how} {conf} CI of the difference {_fmt(c['ci_low'])} to {_fmt(c['ci_high'])}, "
                f"Holm p = {c['p_holm']:.2g}).")
    tied = [s for s in others if not comp.loc[s, "worse"]]
    same = [s for s in tied if (r.vs_leader.loc[s, ["diff", "ci_low", "ci_high"]] == 0).all()]
    text = ""
    if same:
        text += (f" It ties exactly with {', '.join(repr(s) for s in same)}: the same {r.primary} "
                 f"in every scenario.")
    tied = [s for s in tied if s not in same]
    if tied:
        c = comp.loc[tied[0]]
        text += (f" But it is NOT separated at {conf} confidence from {', '.join(repr(s) for s in tied)}"
                 f" (difference{on} for '{tied[0]}' {_fmt(c['diff'], unit)}, {how} {conf} CI "
                 f"{_fmt(c['ci_low'])} to {_fmt(c['ci_high'])}, Holm p = {c['p_holm']:.2g}); more "
                 f"replications or scenarios would tell them apart (twinworld rank --until-confident).")
    return text


def _recommend(r: Ranking, unit: str, baseline: str | None) -> str:
    row = r.table.loc[r.leader]
    better = "lowest" if lower_is_better(r.risk, r.direction) else "highest"
    conf = f"{r.confidence:.0%}"
    text = (f"Recommend '{r.leader}': {better} {r.risk_label} of {r.primary} "
            f"({_fmt(row['score'], unit)}); mean {_fmt(row['mean'], unit)} "
            f"({conf} CI {_fmt(row['ci_low'])} to {_fmt(row['ci_high'])}), best in "
            f"{row['p_best']:.0%} of scenarios.")
    text += _versus_words(r, unit)
    if baseline and baseline != r.leader and r.vs_baseline is not None and r.leader in r.vs_baseline.index:
        b = r.vs_baseline.loc[r.leader]
        text += (f" Against '{baseline}' it changes mean {r.primary} by {_fmt(b['diff'], unit)} "
                 f"({conf} CI {_fmt(b['ci_low'])} to {_fmt(b['ci_high'])}).")
    if len(r.constraints):
        mine = r.constraints[r.constraints["strategy"] == r.leader]
        parts = [f"{c.constraint} in {c.rate:.0%} of runs (required {c.required:.0%}, "
                 f"{'met' if c.met else 'NOT met'})" for c in mine.itertuples()]
        text += " Constraints: " + "; ".join(parts) + "."
        if not r.table["meets_constraints"].any():
            text += " No strategy meets every constraint; the leader is chosen on the risk measure alone."
    return text


def _settings(results: SweepResults, primary, risk, cvar_alpha, confidence, constraints):
    settings = results.ranking
    primary = primary or settings.primary or (results.kpis[0] if results.kpis else None)
    if primary is None or KPI_PREFIX + primary not in results.runs:
        raise SweepError(f"primary KPI {primary!r} is not in the results; KPIs: "
                         f"{', '.join(results.kpis)}")
    risk = risk or settings.risk
    if risk not in RISK_MEASURES:
        raise SweepError(f"unknown risk measure {risk!r}; valid: {', '.join(RISK_MEASURES)}")
    constraints = list(settings.constraints if constraints is None else
                       [c if isinstance(c, Constraint) else Constraint.model_validate(c)
                        for c in constraints])
    return (primary, risk, cvar_alpha or settings.cvar_alpha, confidence or settings.confidence,
            constraints)


def _summaries(results: SweepResults, ok: pd.DataFrame, kpis: Sequence[str], strategies: list[str],
               confidence: float, alpha: float, known: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = {}
    for kpi in kpis:
        wide = known[kpi] if kpi in known else paired_wide(ok, kpi, strategies)
        if len(wide):
            parts[kpi] = summarize(wide, results.direction(kpi), confidence=confidence, alpha=alpha)
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, names=["kpi", "strategy"])


@dataclass(frozen=True)
class RankOptions:
    """How to rank; fields left ``None`` come from the scenario's ``ranking:`` section.

    Parameters
    ----------
    primary, risk, cvar_alpha, confidence, constraints
        The KPI to rank by, the risk measure (``mean``, ``cvar``, ``max_regret``, ``mean_regret``,
        ``median``, ``p90``), the CVaR level, the confidence of intervals, satisficing
        constraints.
    baseline
        Strategy that paired differences are also taken against (skipped if absent).
    kpis
        KPIs to summarise (default: all in the results).
    pareto_kpis
        KPIs of the Pareto set (default: ``kpis``).
    discover_failures, failure
        Also run scenario discovery per strategy (needs ``param.*`` columns); ``failure`` says what
        failing means (``auto``, ``constraints``, ``worst_decile``, ``regret``; see
        :func:`~twinworld.analysis.discovery.failure_mask`).
    bootstrap_resamples, seed
        Paired bootstrap for risk measures other than the mean.
    """

    primary: str | None = None
    risk: str | None = None
    cvar_alpha: float | None = None
    confidence: float | None = None
    constraints: Sequence[Constraint | Mapping[str, Any]] | None = None
    baseline: str | None = "baseline"
    kpis: Sequence[str] | None = None
    pareto_kpis: Sequence[str] | None = None
    discover_failures: bool = True
    failure: str = "auto"
    bootstrap_resamples: int = 1000
    seed: int = 0


def rank(source: SweepResults | pd.DataFrame | str | Path, options: RankOptions | None = None, *,
         directions: Mapping[str, str] | None = None) -> Ranking:
    """Rank the strategies of a sweep.

    Parameters
    ----------
    source
        A sweep folder, a :class:`SweepResults`, or a runs DataFrame in the results-store format.
    options
        What to rank by and how (:class:`RankOptions`); default: the scenario's ``ranking:``.
    directions
        KPI directions for KPIs the results do not define (a DataFrame of a third-party model).

    Returns
    -------
    Ranking
    """
    o = options or RankOptions()
    primary, risk, cvar_alpha, confidence, constraints = o.primary, o.risk, o.cvar_alpha, o.confidence, \
        o.constraints
    baseline, kpis, pareto_kpis = o.baseline, o.kpis, o.pareto_kpis
    discover_failures, failure, bootstrap_resamples, seed = (o.discover_failures, o.failure,
                                                             o.bootstrap_resamples, o.seed)
    results = as_results(source, directions=directions)
    primary, risk, alpha, confidence, constraints = _settings(results, primary, risk, cvar_alpha,
                                                              confidence, constraints)
    direction = results.direction(primary)
    strategies = results.strategies
    ok = results.ok
    wide = paired_wide(ok, primary, strategies)
    if len(wide) < 2:
        raise SweepError(f"only {len(wide)} scenario(s) where every strategy finished; need 2 or more "
                         f"to rank")
    notes = _notes(results, wide, primary)
    undirected = [k for k in (kpis or results.kpis) if k not in results.directions]
    if undirected:
        notes.append(f"no direction known for {', '.join(undirected)}: left out of the summary "
                     f"(pass directions={{name: 'minimize' | 'maximize'}})")
    kpis = [k for k in (kpis or results.kpis) if k in results.directions]
    summary = _summaries(results, ok, kpis if primary in kpis else [primary, *kpis], strategies,
                         confidence, alpha, {primary: wide})
    prim = summary.loc[primary].copy()
    prim["score"] = prim[risk]  # every risk measure is a summary column
    cons = constraint_table(results, constraints, strategies, confidence)
    meets = cons.groupby("strategy")["met"].all().reindex(strategies).fillna(True) if len(cons) \
        else pd.Series(True, index=strategies)
    prim["meets_constraints"] = meets
    prim = prim.sort_values(["meets_constraints", "score", "mean"],
                            ascending=[False, lower_is_better(risk, direction), direction == "minimize"])
    candidates = [s for s in prim.index if meets[s]] or list(prim.index)
    leader = candidates[0]
    vs_leader = paired_differences(wide, leader, direction, confidence=confidence)
    vs_baseline = (paired_differences(wide, baseline, direction, confidence=confidence)
                   if baseline in wide.columns else None)
    risk_vs_leader = None
    if risk != "mean":
        risk_vs_leader = bootstrap_risk_differences(
            wide, leader, risk, direction, alpha=alpha, confidence=confidence,
            resamples=bootstrap_resamples, seed=seed)
    comp = risk_vs_leader if risk_vs_leader is not None else vs_leader
    separated = all(bool(comp.loc[s, "worse"]) for s in candidates if s != leader)
    table = _primary_table(prim, vs_leader, vs_baseline, leader, baseline)
    pareto_kpis = [k for k in (pareto_kpis or kpis) if k in summary.index.get_level_values(0)]
    pareto = _pareto(summary, pareto_kpis, risk, results, strategies)
    ranking = Ranking(primary, direction, risk, confidence, alpha, table, summary, vs_leader,
                      vs_baseline, risk_vs_leader, cons, pareto, pareto_kpis, leader, separated,
                      candidates, "", notes, [], results)
    ranking.recommendation = _recommend(ranking, results.units.get(primary, ""),
                                        baseline if vs_baseline is not None else None)
    if discover_failures and results.parameters:
        ranking.discovery = discover(results, kpi=primary, constraints=constraints, failure=failure)
    return ranking


def _pareto(summary: pd.DataFrame, kpis: list[str], risk: str, results: SweepResults,
            strategies: list[str]) -> list[str]:
    """Pareto set over ``kpis``, each judged by the risk measure (regrets are always minimised)."""
    if not kpis:
        return []
    scores = pd.DataFrame({k: summary.loc[k][risk] for k in kpis}).reindex(strategies)
    regret_based = risk in ("max_regret", "mean_regret")
    return pareto_front(scores, {k: "minimize" if regret_based else results.direction(k)
                                 for k in kpis})


def _primary_table(prim: pd.DataFrame, vs_leader: pd.DataFrame, vs_baseline: pd.DataFrame | None,
                   leader: str, baseline: str | None) -> pd.DataFrame:
    table = prim.copy()
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    lead = vs_leader.reindex(table.index)
    table["diff_vs_leader"] = lead["diff"].fillna(0.0)
    table["diff_vs_leader_ci_low"] = lead["ci_low"]
    table["diff_vs_leader_ci_high"] = lead["ci_high"]
    table["p_holm_vs_leader"] = lead["p_holm"]
    if vs_baseline is not None:
        base = vs_baseline.reindex(table.index)
        table["diff_vs_baseline"] = base["diff"]
        table["diff_vs_baseline_ci_low"] = base["ci_low"]
        table["diff_vs_baseline_ci_high"] = base["ci_high"]
        table["p_holm_vs_baseline"] = base["p_holm"]
        if baseline in table.index:
            table.loc[baseline, "diff_vs_baseline"] = 0.0
    return table


def _notes(results: SweepResults, wide: pd.DataFrame, primary: str) -> list[str]:
    notes = []
    blocks = results.runs[["scenario_index", "replication"]].drop_duplicates()
    if results.n_failed:
        notes.append(f"{results.n_failed} run(s) failed; comparisons use the {len(wide)} of "
                     f"{len(blocks)} scenario x replication blocks where every strategy finished, "
                     f"and failed runs count as not meeting constraints.")
    if results.manifest and not results.manifest.get("complete", True):
        notes.append("the sweep is not complete (manifest says complete: false); resume it first.")
    return notes

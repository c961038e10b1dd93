"""Which sampled parameters drive a KPI: Sobol' indices, and a cheaper extra-trees score.

- :func:`sobol_indices`: first-order (S1) and total-order (ST) Sobol' indices with bootstrap
  intervals (SALib's estimators: Saltelli et al. 2010 for S1, Jansen 1999 for ST), from a sweep
  made with the ``sobol`` design (Saltelli's sample; see :mod:`twinworld.experiments.design`).
  S1 is the share of the KPI's variance a parameter explains alone, ST alone and with others.
- :func:`feature_scores`: extra-trees (scikit-learn) impurity importances from *any* sweep, next
  to a random probe column that by construction has no effect: a parameter scoring near the
  probe is indistinguishable from none.

Replications of a sample are averaged first: the run-to-run noise of a stochastic model is not a
parameter's effect (it lowers every index instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twinworld.analysis.results import KPI_PREFIX, PARAM_PREFIX, SweepResults, as_results
from twinworld.errors import SweepError

__all__ = ["sobol_from_outputs", "sobol_indices", "feature_scores", "sensitivity", "Sensitivity"]


def sobol_from_outputs(y: np.ndarray, names: Sequence[str], *, confidence: float = 0.95,
                       resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """S1 and ST with percentile-bootstrap intervals from outputs in Saltelli's order.

    ``y`` holds N x (D + 2) outputs (per base sample: A, A with column j from B for each j, B),
    D = ``len(names)``.

    Returns
    -------
    DataFrame
        Indexed by parameter: ``S1``, ``S1_low``, ``S1_high``, ``ST``, ``ST_low``, ``ST_high``
        (and SALib's normal-approximation half-widths ``S1_conf``, ``ST_conf``).
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    d = len(names)
    if len(y) % (d + 2) or len(y) < 2 * (d + 2):
        raise SweepError(f"a Sobol' analysis needs N x (D + 2) outputs with N >= 2 (D = {d}); got {len(y)}")
    if not np.isfinite(y).all():
        raise SweepError("a Sobol' analysis needs every output finite")
    problem = {"num_vars": d, "names": list(names), "bounds": [[0.0, 1.0]] * d}
    result = sobol.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                           conf_level=confidence, keep_resamples=True, seed=seed)
    lo, hi = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2
    table = pd.DataFrame({
        "S1": result["S1"], "S1_low": np.percentile(result["S1_conf_all"], lo, axis=0),
        "S1_high": np.percentile(result["S1_conf_all"], hi, axis=0), "S1_conf": result["S1_conf"],
        "ST": result["ST"], "ST_low": np.percentile(result["ST_conf_all"], lo, axis=0),
        "ST_high": np.percentile(result["ST_conf_all"], hi, axis=0), "ST_conf": result["ST_conf"],
    }, index=pd.Index(list(names), name="parameter"))
    table.attrs.update(method="sobol", base_samples=len(y) // (d + 2), confidence=confidence)
    return table


def _per_sample(results: SweepResults, strategy: str, kpi: str) -> pd.Series:
    runs = results.runs[results.runs["strategy"] == strategy]
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    return ok.groupby("scenario_index")[KPI_PREFIX + kpi].mean()


def sobol_indices(source: SweepResults | pd.DataFrame | str, *, strategy: str, kpi: str | None = None,
                  confidence: float = 0.95, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Sobol' indices of ``kpi`` under ``strategy`` from a sweep with the ``sobol`` design.

    A base sample with any failed run is left out whole (its D + 2 outputs belong together).

    Raises
    ------
    SweepError
        The sweep's design is not ``sobol``, or too few complete base samples are left.
    """
    results = as_results(source)
    if results.manifest.get("design") != "sobol":
        raise SweepError(f"Sobol' indices need a sweep with the sobol design (sweep --design sobol); "
                         f"this one is {results.manifest.get('design') or 'unknown'}: use feature_scores")
    kpi = kpi or results.ranking.primary or results.kpis[0]
    names = [p for p in results.manifest.get("parameters", [])]
    d, rows = len(names), int(results.manifest.get("scenarios", 0))
    per_sample = _per_sample(results, strategy, kpi).reindex(range(rows))
    blocks = per_sample.to_numpy(dtype=float).reshape(-1, d + 2)
    complete = np.isfinite(blocks).all(axis=1)
    table = sobol_from_outputs(blocks[complete].ravel(), names, confidence=confidence,
                               resamples=resamples, seed=seed)
    table.index = [PARAM_PREFIX + n for n in names]
    table.index.name = "parameter"
    table.attrs.update(method="sobol", base_samples=int(complete.sum()), kpi=kpi, strategy=strategy,
                       dropped=int((~complete).sum()), confidence=confidence)
    return table


def feature_scores(source: SweepResults | pd.DataFrame | str, *, strategy: str, kpi: str | None = None,
                   trees: int = 200, seed: int = 0) -> pd.DataFrame:
    """Extra-trees importance of each sampled parameter for ``kpi`` under ``strategy``.

    Returns
    -------
    DataFrame
        Indexed by parameter, best first: ``importance`` (mean over trees; the scores and the
        probe's sum to 1), ``low`` and ``high`` (5% and 95% over trees), ``above_noise`` (the
        5% point is above the probe's mean). ``attrs["noise_level"]``: the probe's mean.
    """
    from sklearn.ensemble import ExtraTreesRegressor

    results = as_results(source)
    kpi = kpi or results.ranking.primary or results.kpis[0]
    params = [c for c in results.parameters if results.runs[c].nunique(dropna=True) > 1]
    if not params:
        raise SweepError("no sampled parameter varies in these results: nothing to score")
    runs = results.runs[results.runs["strategy"] == strategy]
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    means = ok.groupby("scenario_index")[[*params, KPI_PREFIX + kpi]].mean().dropna()
    if len(means) < 10:
        raise SweepError(f"only {len(means)} scenario samples with '{strategy}' finished: too few to score")
    rng = np.random.default_rng(seed)
    x = np.column_stack([means[params].to_numpy(dtype=float), rng.random(len(means))])
    model = ExtraTreesRegressor(n_estimators=trees, random_state=seed, min_samples_leaf=2, n_jobs=1)
    model.fit(x, means[KPI_PREFIX + kpi].to_numpy(dtype=float))
    per_tree = np.array([t.feature_importances_ for t in model.estimators_])
    per_tree = per_tree[per_tree.sum(axis=1) > 0]  # a tree that never split explains nothing
    if not len(per_tree):
        per_tree = np.zeros((1, x.shape[1]))
    noise = float(per_tree[:, -1].mean())
    table = pd.DataFrame({"importance": per_tree[:, :-1].mean(axis=0),
                          "low": np.percentile(per_tree[:, :-1], 5, axis=0),
                          "high": np.percentile(per_tree[:, :-1], 95, axis=0)},
                         index=pd.Index(params, name="parameter"))
    table["above_noise"] = table["low"] > noise
    table = table.sort_values("importance", ascending=False)
    table.attrs.update(method="extra_trees", noise_level=noise, kpi=kpi, strategy=strategy,
                       samples=len(means))
    return table


@dataclass
class Sensitivity:
    """Sensitivity of one KPI per strategy: Sobol' indices where the design allows, else scores."""

    kpi: str
    method: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Parameters x strategies: ST (Sobol') or the importance (extra-trees)."""
        column = "ST" if self.method == "sobol" else "importance"
        return pd.DataFrame({s: t[column] for s, t in self.tables.items()})


def sensitivity(source: SweepResults | pd.DataFrame | str, *, kpi: str | None = None,
                strategies: Sequence[str] | None = None, method: str = "auto",
                seed: int = 0) -> Sensitivity:
    """Sensitivity of ``kpi`` for each strategy: ``sobol`` (needs that design), ``extra_trees``,
    or ``auto`` (Sobol' when the sweep's design is sobol)."""
    results = as_results(source)
    kpi = kpi or results.ranking.primary or results.kpis[0]
    if method == "auto":
        method = "sobol" if results.manifest.get("design") == "sobol" else "extra_trees"
    if method not in ("sobol", "extra_trees"):
        raise SweepError(f"sensitivity method must be auto, sobol or extra_trees, not {method!r}")
    out = Sensitivity(kpi, method)
    for name in strategies or results.strategies:
        if method == "sobol":
            out.tables[name] = sobol_indices(results, strategy=name, kpi=kpi, seed=seed)
        else:
            out.tables[name] = feature_scores(results, strategy=name, kpi=kpi, seed=seed)
    return out

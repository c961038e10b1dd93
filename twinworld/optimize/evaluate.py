"""Evaluating candidates: runs through the sweep machinery, then risk measures per candidate.

:func:`run_batch` is the only place the optimiser calls the sweep engine: a batch of candidate
strategies becomes a sweep of one scenario (the planner's, with the candidates as its strategies)
over the search's fixed design, written to a results folder of its own. Every executor and the
results store's resume come with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.analysis.results import KPI_PREFIX
from twinworld.analysis.stats import cvar, worst_quantile
from twinworld.experiments.executors import SlurmOptions

__all__ = ["EvaluationOptions", "ObjectiveSpec", "sweep_runs", "run_batch", "candidate_scores"]


@dataclass(frozen=True)
class EvaluationOptions:
    """Where and how the runs of a batch execute (see ``twinworld sweep``).

    Parameters
    ----------
    executor
        ``local`` (processes on this machine), ``inprocess``, ``dask`` or ``slurm``.
    workers
        Worker processes (default: every core).
    scheduler
        A running Dask scheduler's address (``dask``).
    slurm
        The Slurm allocation (``slurm``).
    max_retries, chunk_size
        As for a sweep.
    progress
        Show each batch's progress bar.
    """

    executor: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    slurm: SlurmOptions | None = None
    max_retries: int | None = None
    chunk_size: int | None = None
    progress: bool = True


@dataclass(frozen=True)
class ObjectiveSpec:
    """A KPI, a risk measure and the KPI's direction: one objective of the search."""

    kpi: str
    risk: str
    direction: str
    cvar_alpha: float = 0.9

    @property
    def label(self) -> str:
        risk = f"CVaR{round(self.cvar_alpha * 100)}" if self.risk == "cvar" else self.risk
        return f"{self.kpi} {risk}"

    @property
    def lower_is_better(self) -> bool:
        return self.risk in ("mean_regret", "max_regret") or self.direction == "minimize"

    def score(self, values: np.ndarray, reference_best: np.ndarray | None) -> float:
        """The risk measure of one candidate's values over the blocks (NaNs ignored)."""
        x = np.asarray(values, dtype=float)
        if self.risk in ("mean_regret", "max_regret"):
            if reference_best is None:
                raise ValueError("regret needs the reference strategies' values")
            gap = x - reference_best if self.direction == "minimize" else reference_best - x
            gap = gap[~np.isnan(gap)]
            if not len(gap):
                return math.nan
            return float(gap.mean() if self.risk == "mean_regret" else gap.max())
        x = x[~np.isnan(x)]
        if not len(x):
            return math.nan
        if self.risk == "mean":
            return float(x.mean())
        if self.risk == "median":
            return float(np.median(x))
        if self.risk == "p90":
            return worst_quantile(x, 0.9, self.direction)
        if self.risk == "cvar":
            return cvar(x, self.cvar_alpha, self.direction)
        raise ValueError(f"unknown risk measure {self.risk!r}")


def sweep_runs(scenario: Any, folder: Path, *, options: EvaluationOptions, design: str,
               replications: int, scenarios: int | None = None,
               design_csv: Path | None = None) -> pd.DataFrame:
    """The one call into the sweep engine (every executor, the resumable results store)."""
    from twinworld.experiments.executors import ExecutorOptions
    from twinworld.experiments.sweep import SweepOptions, sweep

    done = sweep(scenario, folder,
                 SweepOptions(scenarios=scenarios, design=design, design_csv=design_csv, replications=replications,
                              max_retries=options.max_retries, chunk_size=options.chunk_size,
                              progress=options.progress),
                 executor=ExecutorOptions(options.executor, workers=options.workers, scheduler=options.scheduler,
                                          slurm=options.slurm))
    return done.table()


def run_batch(scenario: Any, strategies: Mapping[str, Any], folder: Path, design_csv: Path, *,
              replications: int, label: str, options: EvaluationOptions) -> pd.DataFrame:
    """Run ``strategies`` on every sample of ``design_csv`` into ``folder`` (resumable).

    Returns the runs as the results store holds them (one row per run).
    """
    from twinworld.scenario.model import RankingSettings

    # Only what the runs depend on: the search's settings and the ranking may change between
    # calls without invalidating evaluations already made.
    batch = scenario.model_copy(update={"strategies": dict(strategies), "name": label, "levers": None,
                                        "ranking": RankingSettings(), "description": ""})
    batch._source = None  # not the planner's file: the sweep writes it out whole, without re-reading
    return sweep_runs(batch, folder, options=options, design="csv", design_csv=design_csv,
                      replications=replications)


def _blocks(runs: pd.DataFrame, strategy: str, column: str, index: pd.MultiIndex) -> np.ndarray:
    """One strategy's KPI per block (NaN where the run failed or is missing), in ``index`` order."""
    own = runs[runs["strategy"] == strategy]
    ok = own[own["status"] == "ok"] if "status" in own else own
    series = ok.set_index(["scenario_index", "replication"])[column] if column in ok else pd.Series(dtype=float)
    return series.reindex(index).to_numpy(dtype=float)


def reference_best(reference_runs: pd.DataFrame, kpi: str, direction: str,
                   index: pd.MultiIndex) -> np.ndarray:
    """Per block, the best value any named strategy reached (the yardstick of regret)."""
    column = KPI_PREFIX + kpi
    names = list(dict.fromkeys(reference_runs["strategy"]))
    table = np.column_stack([_blocks(reference_runs, s, column, index) for s in names])
    with np.errstate(all="ignore"):
        best = np.nanmin(table, axis=1) if direction == "minimize" else np.nanmax(table, axis=1)
    return best


def candidate_scores(runs: pd.DataFrame, strategies: Sequence[str], objectives: Sequence[ObjectiveSpec],
                     index: pd.MultiIndex, reference: pd.DataFrame | None) -> pd.DataFrame:
    """Objective values (natural units) and the share of failed runs of each strategy.

    Returns
    -------
    DataFrame
        Indexed by strategy: one column per objective label, ``failed_share`` and ``runs``.
    """
    bests = {o.kpi: reference_best(reference, o.kpi, o.direction, index)
             for o in objectives if o.risk.endswith("regret") and reference is not None}
    rows = []
    for name in strategies:
        row: dict[str, Any] = {"strategy": name}
        for o in objectives:
            row[o.label] = o.score(_blocks(runs, name, KPI_PREFIX + o.kpi, index), bests.get(o.kpi))
        own = runs[runs["strategy"] == name]
        row["runs"] = len(own)
        row["failed_share"] = float((own["status"] != "ok").mean()) if len(own) else 1.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def minimised(scores: pd.DataFrame, objectives: Sequence[ObjectiveSpec]) -> np.ndarray:
    """The objective values signed so that smaller is better; NaN (nothing ran) as very bad."""
    signed = np.column_stack([scores[o.label].to_numpy(dtype=float) * (1.0 if o.lower_is_better else -1.0)
                              for o in objectives])
    return np.where(np.isnan(signed), 1e15, signed)

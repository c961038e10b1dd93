"""Synthetic sweep results with known truth, in the results-store format (for ranking tests).

Strategy ``s`` on block ``(scenario_index, replication)`` scores
``mean[s] + effect(params) + shared noise + own noise``: the shared part is common to every
strategy of the block (common random numbers), so paired comparisons see through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

KPI = "cost"


def synthetic_runs(means: Mapping[str, float], *, scenarios: int = 50, replications: int = 1,
                   shared_sd: float = 5.0, own_sd: float = 1.0, seed: int = 0,
                   first_replication: int = 0, kpi: str = KPI,
                   fail_above: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per run; ``param.surge`` in [1, 2] and ``param.loss`` in [0, 0.5] per scenario.

    With ``fail_above = {strategy: m}`` the strategy's KPI jumps by 100 when ``surge > m`` and
    ``loss > 0.25`` (a planted failure region for scenario discovery).
    """
    params = np.random.default_rng([seed, 999])  # scenario parameters do not depend on replication
    surge = params.uniform(1.0, 2.0, scenarios)
    loss = params.uniform(0.0, 0.5, scenarios)
    rows = []
    for rep in range(first_replication, first_replication + replications):
        rng = np.random.default_rng([seed, rep])
        shared = rng.normal(0.0, shared_sd, scenarios)
        for name, mean in means.items():
            own = rng.normal(0.0, own_sd, scenarios)
            value = mean + shared + own
            if fail_above and name in fail_above:
                value = value + 100.0 * ((surge > fail_above[name]) & (loss > 0.25))
            for i in range(scenarios):
                rows.append({"run_id": f"s{i:06d}-r{rep:02d}-{name}", "scenario_index": i,
                             "replication": rep, "strategy": name, "seed": 1000 * i + rep,
                             "status": "ok", "error": "", "attempts": 1, "wall_s": 0.01,
                             "param.surge": surge[i], "param.loss": loss[i],
                             f"kpi.{kpi}": float(value[i])})
    runs = pd.DataFrame(rows)
    for col in ("scenario_index", "replication", "seed", "attempts"):
        runs[col] = runs[col].astype("int64")
    return runs


def write_sweep(directory: Path, runs: pd.DataFrame, *, direction: str = "minimize",
                ranking: Mapping | None = None, kpi: str = KPI, part: str = "part-000") -> Path:
    """Write ``runs`` as a sweep folder (results/*.parquet, manifest.json, scenario.yaml)."""
    directory = Path(directory)
    (directory / "results").mkdir(parents=True, exist_ok=True)
    runs.to_parquet(directory / "results" / f"{part}.parquet", index=False)
    strategies = list(dict.fromkeys(runs["strategy"]))
    manifest = {"twinworld_results": 1, "scenario": "synthetic", "scenario_file": "synthetic.yaml",
                "scenario_sha256": "0" * 64, "design": "mc",
                "scenarios": int(runs["scenario_index"].nunique()),
                "replications": int(runs["replication"].max()) + 1, "strategies": strategies,
                "parameters": [c[len("param."):] for c in runs.columns if c.startswith("param.")],
                "kpis": {kpi: {"direction": direction, "unit": "EUR"}},
                "ranking": dict(ranking or {"primary": kpi}), "seed": 0,
                "created": "2026-01-01T00:00:00Z", "complete": True}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    (directory / "scenario.yaml").write_text("# synthetic results: no scenario\n")
    return directory


"""EMA Workbench's side of ``benchmarks/optimize_vs_ema.py`` (runs under Python >= 3.12).

Robust optimisation of the same problem with EMA's ``robust_optimize`` (platypus' epsilon-NSGA-II,
a ``MultiprocessingEvaluator``): each candidate policy is run on the same sampled scenarios and run
seeds as twinworld's search (read from its ``design.csv``), through the same ``twinworld.run``, and
scored with the same robustness functions (twinworld's empirical CVaR90 and the mean).

Invoked by the benchmark with the interpreter of the 3.12 virtual environment::

    /tmp/ema312/bin/python benchmarks/ema_optimize.py PROBLEM.json

Prints one JSON line: wall seconds of ``robust_optimize`` (pool start and stop included), the
number of policies evaluated, and the final archive (lever values and objective values).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_CACHE: dict = {}


def _problem() -> dict:
    return _CACHE["problem"]


def _setup() -> tuple:
    """The scenario and its design, loaded once per worker process."""
    if "scenario" not in _CACHE:
        sys.path.insert(0, str(ROOT))
        import pandas as pd

        import twinworld

        problem = json.loads(Path(_CACHE_PATH[0]).read_text())
        _CACHE["problem"] = problem
        scenario = twinworld.load_scenario(ROOT / problem["scenario"], overrides=problem["overrides"])
        design = pd.read_csv(problem["design_csv"])
        _CACHE["scenario"] = scenario.model_copy(update={"seed": problem["seed"]})
        _CACHE["design"] = design
    return _CACHE["scenario"], _CACHE["design"]


_CACHE_PATH: list[str] = []


def hospital(scenario_index: int = 0, **levers: float) -> dict:
    """One twinworld run of the candidate ``levers`` on sample ``scenario_index``."""
    import twinworld
    from twinworld.experiments.design import run_seed
    from twinworld.scenario.levers import candidate_parts

    scenario, design = _setup()
    settings = scenario.levers
    parts = candidate_parts(scenario.strategies[settings.strategy], settings.vary, levers)
    candidate = scenario.model_copy(update={"strategies": {"candidate": parts}})
    seed = run_seed(scenario.seed, int(scenario_index), 0)
    values = {k: float(v) for k, v in design.iloc[int(scenario_index)].items()}
    result = twinworld.run(candidate, "candidate", seed=seed, values=values,
                           run_seed=np.random.SeedSequence(seed))
    return {kpi: result.kpis[kpi] for kpi in _problem()["kpis"]}


def patch_robust_scores() -> None:
    """Score each policy on its own runs.

    EMA Workbench 3.0.0's ``optimization.evaluate`` computes a robust objective from ``outcomes``
    (every experiment of the batch, all policies together) instead of that policy's own rows, so
    every policy evaluated in one batch gets the same robustness scores. This wraps it to call it
    once per policy with only that policy's experiments.
    """
    from ema_workbench.em_framework import evaluators

    original = evaluators.evaluate

    def per_policy(jobs_collection, experiments, outcomes, problem):
        for sample, job in jobs_collection:
            mine = (experiments["policy"] == sample.name).to_numpy()
            original([(sample, job)], experiments[mine], {k: v[mine] for k, v in outcomes.items()}, problem)

    evaluators.evaluate = per_policy


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")
    _CACHE_PATH.append(argv[0])
    problem = json.loads(Path(argv[0]).read_text())
    sys.path.insert(0, str(ROOT))
    from ema_workbench import (IntegerParameter, Model, MultiprocessingEvaluator, RealParameter, Sample,
                               ScalarOutcome)
    import ema_workbench

    from twinworld.analysis.stats import cvar

    model = Model("hospital", function=hospital)
    model.uncertainties = [IntegerParameter("scenario_index", 0, problem["scenarios"] - 1)]
    model.levers = [RealParameter(name, low, high) for name, (low, high) in problem["levers"].items()]
    model.outcomes = [ScalarOutcome(kpi) for kpi in problem["kpis"]]

    def robustness(objective: dict) -> ScalarOutcome:
        if objective["risk"] == "cvar":
            def function(x, alpha=objective["cvar_alpha"]):
                return cvar(np.asarray(x, float), alpha, "minimize")
        else:
            def function(x):
                return float(np.mean(x))
        return ScalarOutcome(objective["label"], kind=ScalarOutcome.MINIMIZE, variable_name=objective["kpi"],
                             function=function)

    functions = [robustness(o) for o in problem["objectives"]]
    if problem.get("patch_robust_scores"):
        patch_robust_scores()
    scenarios = [Sample(f"s{i}", scenario_index=i) for i in range(problem["scenarios"])]
    started = time.perf_counter()
    # Workers are forked (Linux, Python 3.12): they inherit _CACHE_PATH.
    with MultiprocessingEvaluator(model, n_processes=problem["workers"]) as evaluator:
        archive, convergence = evaluator.robust_optimize(
            functions, scenarios, nfe=problem["evaluations"], epsilons=problem["epsilons"],
            population_size=problem["population"], rng=problem["seed"],
            directory=str(Path(argv[0]).parent),
            filename=f"ema-archives-{problem['seed']}-{int(bool(problem.get('patch_robust_scores')))}.tar.gz")
    wall = time.perf_counter() - started
    columns = list(problem["levers"]) + [o["label"] for o in problem["objectives"]]
    print(json.dumps({"tool": "ema_workbench", "version": ema_workbench.__version__, "wall_s": wall,
                      "patched": bool(problem.get("patch_robust_scores")),
                      "nfe": int(convergence["nfe"].max()) if "nfe" in convergence else None,
                      "archive": archive[columns].to_dict(orient="records")}))


if __name__ == "__main__":
    main(sys.argv[1:])

"""``twinworld optimize`` against EMA Workbench's robust optimisation: same problem, same budget.

The problem: the hospital scenario scaled down through overrides (three smaller hospitals, 8 days;
as in tests/validation/test_optimize_brute_force.py), three continuous levers of the ``combined``
strategy's surge beds (threshold 0.80-0.98, extra share 0.02-0.24, release below 0.60-0.90), two
objectives over the same sampled scenarios: CVaR90 of the hours a hospital spends above 90%
occupancy, and the mean surge bed-hours (both minimised).

- twinworld: ``optimize`` (pymoo NSGA-II, ask-and-tell through the sweep engine, 2 local worker
  processes, results written to Parquet as they come);
- EMA Workbench 3: ``robust_optimize`` (platypus epsilon-NSGA-II, ``MultiprocessingEvaluator`` with
  2 processes), in a Python 3.12 virtual environment as a subprocess (``benchmarks/ema_optimize.py``),
  each of its runs calling the same ``twinworld.run`` on the same samples and run seeds (read from
  twinworld's ``design.csv``), scored with the same CVaR.

Same number of candidate evaluations for both (twinworld's includes the 5 named strategies it runs
as a yardstick). Reported: wall time, and the hypervolume of each tool's final front, both fronts
scaled together (ideal and nadir of their union) with the reference point 1.1 in each objective.
A check that the problem is the same: one of EMA's final candidates is re-scored by twinworld's own
evaluation, and the numbers must agree.

EMA Workbench 3.x needs Python >= 3.12 (see benchmarks/sweep_overhead.py for the venv)::

    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/ema312
    /tmp/ema312/bin/pip install ema-workbench simpy "mesa>=3.3,<4" networkx pandas scipy pydantic \\
        pyyaml pyarrow duckdb rich typer matplotlib "dask[distributed]"

Run: ``PYTHONPATH=. python benchmarks/optimize_vs_ema.py [--evaluations 120] [--seeds 3]``.
The load average is printed next to the figures (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import twinworld  # noqa: E402
from twinworld.optimize import EvaluationOptions, OptimizeOptions, optimize  # noqa: E402

DEFAULT_EMA = Path("/tmp/ema312/bin/python")
HOSPITALS = ("[{name: Central, ward_beds: 70, icu_beds: 6, arrivals_per_day: 13, electives_per_day: 2, "
             "census: {ward: 56, icu: 4}, location: [60.190, 24.905]}, "
             "{name: Harbour, ward_beds: 48, icu_beds: 4, arrivals_per_day: 9, electives_per_day: 1.5, "
             "census: {ward: 38, icu: 3}, location: [60.160, 24.950]}, "
             "{name: Northside, ward_beds: 50, icu_beds: 4, arrivals_per_day: 9.5, electives_per_day: 1.5, "
             "census: {ward: 40, icu: 3}, location: [60.280, 25.040]}]")
LEVERS = {"threshold": ("hospitals.surge_beds.threshold", 0.80, 0.98),
          "extra_share": ("hospitals.surge_beds.extra_share", 0.02, 0.24),
          "release_below": ("hospitals.surge_beds.release_below", 0.60, 0.90)}


def overrides(scenarios: int, population: int) -> list[str]:
    vary = ", ".join(f"{name}: {{field: {field}, range: [{low}, {high}]}}"
                     for name, (field, low, high) in LEVERS.items())
    return ["horizon=8d", "systems.hospitals.census_csv=null", f"systems.hospitals.hospitals={HOSPITALS}",
            f"levers.vary={{{vary}}}",
            "levers.objectives=[{kpi: hours_above_90pct, risk: cvar}, {kpi: surge_bed_hours, risk: mean}]",
            f"levers.search={{scenarios: {scenarios}, population: {population}, generations: 1000}}"]


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def run_twinworld(edits: list[str], evaluations: int, seed: int, workers: int, folder: Path):
    scenario = twinworld.load_scenario(ROOT / "scenarios" / "hospital_surge.yaml", overrides=edits)
    named = len(scenario.strategies)
    options = OptimizeOptions(evaluation=EvaluationOptions(workers=workers, progress=False),
                              max_evaluations=evaluations - named, seed=seed, progress=False)
    started = time.perf_counter()
    result = optimize(scenario, folder, options=options)
    return result, time.perf_counter() - started, result.evaluations + named


def run_ema(python: Path, problem: dict, folder: Path) -> dict | None:
    if not python.exists():
        print(f"  !! EMA Workbench skipped: {python} is missing (see this script's docstring)")
        return None
    path = folder / "problem.json"
    path.write_text(json.dumps(problem))
    done = subprocess.run([str(python), str(ROOT / "benchmarks" / "ema_optimize.py"), str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        print(f"  !! EMA Workbench failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def front(points: np.ndarray) -> np.ndarray:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    return points[NonDominatedSorting().do(points, only_non_dominated_front=True)]


def hypervolumes(fronts: dict[str, np.ndarray]) -> dict[str, float]:
    """Hypervolume of each front, all scaled by the ideal and nadir of their union, ref 1.1."""
    from pymoo.indicators.hv import HV

    union = np.vstack(list(fronts.values()))
    ideal, nadir = union.min(axis=0), union.max(axis=0)
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    indicator = HV(ref_point=np.full(union.shape[1], 1.1))
    return {name: float(indicator((f - ideal) / span)) for name, f in fronts.items()}


def rescore(result, row: dict, folder: Path, labels: list[str]) -> list[float]:
    """twinworld's own evaluation of one of EMA's candidates, on the same samples."""
    from twinworld.optimize.evaluate import candidate_scores, run_batch
    from twinworld.scenario.levers import candidate_parts

    scenario = result.scenario.model_copy(update={"seed": int(json.loads(
        (result.folder / "optimize.json").read_text())["seed"])})
    levers = scenario.levers
    parts = candidate_parts(scenario.strategies[levers.strategy], levers.vary, {k: row[k] for k in LEVERS})
    runs = run_batch(scenario, {"ema": parts}, folder, result.folder / "design.csv", replications=1,
                     label="rescore", options=EvaluationOptions(executor="inprocess", progress=False))
    index = pd.MultiIndex.from_product([range(len(pd.read_csv(result.folder / "design.csv"))), [0]],
                                       names=["scenario_index", "replication"])
    scores = candidate_scores(runs, ["ema"], result.objectives, index, None)
    return [float(scores.loc["ema", label]) for label in labels]


def one_seed(args, seed: int, tmp: Path) -> dict:
    edits = overrides(args.scenarios, args.population)
    result, tw_wall, used = run_twinworld(edits, args.evaluations, seed, args.workers, tmp / f"tw{seed}")
    labels = result.labels
    print(f"  seed {seed}: twinworld {used} evaluations in {tw_wall:.1f} s ({load()})")
    problem = {"scenario": "scenarios/hospital_surge.yaml", "overrides": edits, "seed": seed,
               "design_csv": str(result.folder / "design.csv"), "scenarios": args.scenarios,
               "levers": {k: [lo, hi] for k, (_, lo, hi) in LEVERS.items()}, "kpis": [o.kpi for o in result.objectives],
               "objectives": [{"kpi": o.kpi, "risk": o.risk, "cvar_alpha": o.cvar_alpha, "label": o.label}
                              for o in result.objectives],
               "evaluations": args.evaluations, "population": args.population, "workers": args.workers,
               "epsilons": args.epsilons}
    out = {"seed": seed, "tw_wall": tw_wall, "tw_evals": used,
           "tw_front": result.pareto[labels].to_numpy(dtype=float)}
    for variant, patched in (("ema", False), ("ema_patched", True)):
        ema = run_ema(args.ema, {**problem, "patch_robust_scores": patched}, tmp)
        if ema is None:
            continue
        archive = pd.DataFrame(ema["archive"])
        what = "patched (each policy scored on its own runs)" if patched else "as released"
        print(f"  seed {seed}: EMA Workbench {ema['version']} {what}: {ema.get('nfe')} evaluations in "
              f"{ema['wall_s']:.1f} s ({load()})")
        # Re-score EMA's own final front with twinworld: the true objectives of what it found.
        true = np.array([rescore(result, row, tmp / f"rescore{seed}-{variant}-{i}", labels)
                         for i, row in archive.iterrows()])
        reported = archive[labels].to_numpy(dtype=float)
        same = np.allclose(true, reported, rtol=1e-12, atol=1e-9)
        print(f"    its front's objectives re-scored by twinworld on the same samples: "
              f"{'identical' if same else 'DIFFERENT from what EMA reports'}")
        out[f"{variant}_wall"], out[f"{variant}_evals"] = ema["wall_s"], ema.get("nfe")
        out[f"{variant}_front"] = front(true)  # judged on their true scores
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluations", type=int, default=120, help="candidate evaluations per tool")
    parser.add_argument("--scenarios", type=int, default=8, help="sampled scenarios per candidate")
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="independent repetitions (seeds 1..N)")
    parser.add_argument("--epsilons", type=float, nargs=2, default=[0.5, 10.0],
                        help="EMA's epsilon-box sizes (hours, bed-hours)")
    parser.add_argument("--ema", type=Path, default=DEFAULT_EMA, help="Python of the EMA venv")
    args = parser.parse_args()
    print(f"twinworld {twinworld.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"{load()}; {args.evaluations} evaluations x {args.scenarios} scenarios per tool, "
          f"{args.workers} processes")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(1, args.seeds + 1):
            out = one_seed(args, seed, Path(folder))
            fronts = {"twinworld": out["tw_front"]}
            fronts.update({k: out[f"{k}_front"] for k in ("ema", "ema_patched") if f"{k}_front" in out})
            hv = hypervolumes(fronts)
            row = {"seed": seed, "twinworld evals": out["tw_evals"], "twinworld wall s": out["tw_wall"],
                   "twinworld HV": hv["twinworld"]}
            for k, name in (("ema", "EMA"), ("ema_patched", "EMA patched")):
                row[f"{name} evals"] = out.get(f"{k}_evals", np.nan)
                row[f"{name} wall s"] = out.get(f"{k}_wall", np.nan)
                row[f"{name} HV"] = hv.get(k, np.nan)
            rows.append(row)
    table = pd.DataFrame(rows).set_index("seed")
    print("\n" + table.round(3).to_string())
    mean = table.mean()
    print(f"\nmean over seeds: wall s twinworld {mean['twinworld wall s']:.1f}, EMA "
          f"{mean['EMA wall s']:.1f}, EMA patched {mean['EMA patched wall s']:.1f} (EMA patched / "
          f"twinworld {mean['EMA patched wall s'] / mean['twinworld wall s']:.2f}); hypervolume twinworld "
          f"{mean['twinworld HV']:.3f}, EMA {mean['EMA HV']:.3f}, EMA patched {mean['EMA patched HV']:.3f} "
          f"({load()})")


if __name__ == "__main__":
    main()

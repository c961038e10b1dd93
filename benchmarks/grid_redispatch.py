"""Redispatch at scale: the storm on case2869pegase with the old (dense) and new linear programs.

The ``redispatch`` strategy solves a linear program at every update with an overload. The old
formulation built the dense sensitivity matrix (watched branches x units) and one program with a
pair of rows per watched branch; the new one generates the branch rows as they are violated
(:mod:`twinworld.systems.grid.redispatch`). Both runs use the same scenario, seed and cached grid
engine; the engine's one-time build is timed apart.

    python benchmarks/grid_redispatch.py                   # one run per method, seed 1
    python benchmarks/grid_redispatch.py --runs 3 --no-dense

Prints, per method: seconds per run, linear programs solved, and the run's KPIs (which must agree).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "data" / "grid" / "pegase_storm.yaml"


class _CountingLinprog:
    """Wraps scipy's linprog to count the programs a run solves and the time they take."""

    def __init__(self, linprog) -> None:
        self.linprog = linprog
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.linprog(*args, **kwargs)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - started


def one_run(scenario, seed: int, method: str) -> dict[str, float]:
    """Run the ``redispatch`` strategy with ``method``; wall seconds, programs solved, and KPIs."""
    from twinworld.experiments.run import build_world
    from twinworld.scenario import resolve, sample_values
    from twinworld.systems.grid import redispatch

    counter = _CountingLinprog(redispatch.linprog)
    redispatch.linprog = counter
    try:
        started = time.perf_counter()
        world = build_world(resolve(scenario, sample_values(scenario, seed)), "redispatch", seed)
        world.systems["grid"].redispatch_method = method
        world.run()
        kpis = world.systems["grid"].kpis()
        wall = time.perf_counter() - started
    finally:
        redispatch.linprog = counter.linprog
    return {"wall_s": wall, "lp_solves": counter.calls, "lp_s": counter.seconds, **kpis}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--runs", type=int, default=1, help="seeds per method")
    parser.add_argument("--no-dense", action="store_true", help="skip the (slow) old formulation")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from twinworld import load_scenario
    from twinworld.experiments.run import run

    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    scenario = load_scenario(args.scenario)
    started = time.perf_counter()
    run(scenario, "baseline", 0)  # builds and caches the grid engine and the ratings
    print(f"{args.scenario.name}: engine build + one baseline run {time.perf_counter() - started:.1f} s")
    methods = ["generate"] if args.no_dense else ["dense", "generate"]
    results: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for seed in range(1, args.runs + 1):
        for method in methods:
            results[method].append(one_run(scenario, seed, method))
            r = results[method][-1]
            print(f"seed {seed} {method:9s} {r['wall_s']:8.2f} s  {r['lp_solves']:4d} LPs "
                  f"({r['lp_s']:.2f} s)  lines_tripped {r['lines_tripped']:.0f}  "
                  f"energy_not_served_mwh {r['energy_not_served_mwh']:.3f}", flush=True)
    for method, rows in results.items():
        mean = sum(r["wall_s"] for r in rows) / len(rows)
        solves = sum(r["lp_solves"] for r in rows) / len(rows)
        print(f"{method:9s} mean {mean:8.2f} s per run, {solves:.0f} LPs per run")
    if len(methods) == 2:
        dense = sum(r["wall_s"] for r in results["dense"])
        new = sum(r["wall_s"] for r in results["generate"])
        same = all(abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(a[k]))
                   for a, b in zip(results["dense"], results["generate"], strict=True) for k in a
                   if k not in ("wall_s", "lp_solves", "lp_s"))
        print(f"speed-up {dense / new:.1f}x; KPIs equal: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()

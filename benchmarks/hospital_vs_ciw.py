"""twinworld's hospital model vs Ciw on the same queueing network.

The network: five hospitals, each an M/M/c queue with impatient customers (patients who wait more
than ``--patience-h`` for a bed leave). Arrivals Poisson, stays exponential (mean 1 day), every
hospital loaded to rho = 0.9. Both tools simulate the same horizon; we report patients simulated
per second of wall time, the ratio, and how closely the KPIs agree (mean wait for a bed, share
leaving, mean beds occupied), next to theory where it exists (Erlang C when patience is infinite).

    python benchmarks/hospital_vs_ciw.py                # 2 simulated years, 12 h patience
    python benchmarks/hospital_vs_ciw.py --patience-h 0  # infinite patience: Erlang C check too
"""

from __future__ import annotations

import argparse
import statistics
import time

import ciw
import numpy as np

from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario

BEDS = [40, 30, 30, 20, 20]
LOS_H = 24.0
RHO = 0.9


def scenario(horizon_h: float, patience_h: float) -> dict:
    hospitals = [{"name": f"H{i}", "ward_beds": c, "arrivals_per_day": RHO * c / LOS_H * 24}
                 for i, c in enumerate(BEDS)]
    system = {"kind": "hospital_region", "hospitals": hospitals,
              "patient_classes": [{"name": "any", "share": 1, "bed": "ward",
                                   "los": {"distribution": "exponential", "mean": LOS_H}}]}
    if patience_h > 0:
        system["max_wait"] = patience_h
    return {"twinworld": 1, "name": "bench", "horizon": horizon_h, "systems": {"h": system}}


def run_twinworld(horizon_h: float, patience_h: float, seed: int) -> dict:
    world = build_world(load_scenario(scenario(horizon_h, patience_h)), "baseline", seed)
    started = time.perf_counter()
    world.run()
    wall = time.perf_counter() - started
    region = world.systems["h"]
    arrived = sum(h.counts["arrived"] for h in region.hospitals.values())
    left = sum(h.counts["turned_away"] for h in region.hospitals.values())
    return {"wall_s": wall, "patients": arrived, "mean_wait_h": float(np.mean(region.waits)),
            "share_left": left / arrived, "mean_occupied": region.occupied_probe.area / horizon_h}


def run_ciw(horizon_h: float, patience_h: float, seed: int) -> dict:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RHO * c / LOS_H) for c in BEDS],
        service_distributions=[ciw.dists.Exponential(rate=1 / LOS_H) for _ in BEDS],
        number_of_servers=BEDS,
        routing=[[0.0] * len(BEDS) for _ in BEDS],
        reneging_time_distributions=([ciw.dists.Deterministic(value=patience_h) for _ in BEDS]
                                     if patience_h > 0 else None),
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    started = time.perf_counter()
    simulation.simulate_until_max_time(horizon_h)
    wall = time.perf_counter() - started
    records = simulation.get_all_records()
    served = [r for r in records if r.record_type == "service"]
    reneged = [r for r in records if r.record_type == "renege"]
    in_system = sum(len(node.all_individuals) for node in simulation.transitive_nodes)
    arrived = len(served) + len(reneged) + in_system
    busy = sum(min(r.exit_date, horizon_h) - r.service_start_date for r in served)
    busy += sum(horizon_h - ind.service_start_date for node in simulation.transitive_nodes
                for ind in node.all_individuals if ind.service_start_date is not False
                and ind.service_start_date is not None and ind.service_start_date <= horizon_h)
    waits = [r.waiting_time for r in served]
    return {"wall_s": wall, "patients": arrived, "mean_wait_h": statistics.fmean(waits),
            "share_left": len(reneged) / arrived, "mean_occupied": busy / horizon_h}


def erlang_c_wait(c: int, load: float, mu: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    p_wait = b / (1 - load / c + load / c * b)
    return p_wait / (c * mu - load * mu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--patience-h", type=float, default=12.0, help="0 = wait for ever")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    horizon = args.years * 365 * 24
    results = {"twinworld": [], "ciw": []}
    for seed in range(args.reps):
        results["twinworld"].append(run_twinworld(horizon, args.patience_h, seed))
        results["ciw"].append(run_ciw(horizon, args.patience_h, seed))
    print(f"network: {len(BEDS)} hospitals, beds {BEDS}, rho {RHO}, stays exp(mean {LOS_H:g} h), "
          f"patience {args.patience_h or 'infinite'} h, {args.years:g} years, {args.reps} replications")
    print(f"{'tool':<10} {'patients/s':>12} {'mean wait h':>12} {'share left':>11} {'beds busy':>10}")
    summary = {}
    for tool, runs in results.items():
        rate = sum(r["patients"] for r in runs) / sum(r["wall_s"] for r in runs)
        summary[tool] = {k: statistics.fmean(r[k] for r in runs)
                         for k in ("mean_wait_h", "share_left", "mean_occupied")} | {"rate": rate}
        s = summary[tool]
        print(f"{tool:<10} {rate:>12,.0f} {s['mean_wait_h']:>12.3f} {s['share_left']:>11.4f} "
              f"{s['mean_occupied']:>10.1f}")
    if args.patience_h == 0:
        theory = sum(RHO * c / LOS_H * erlang_c_wait(c, RHO * c, 1 / LOS_H) for c in BEDS) / sum(
            RHO * c / LOS_H for c in BEDS)
        print(f"{'Erlang C':<10} {'':>12} {theory:>12.3f} {0:>11.4f} {RHO * sum(BEDS):>10.1f}")
    tw, cw = summary["twinworld"], summary["ciw"]
    print(f"speed ratio twinworld/ciw: {tw['rate'] / cw['rate']:.1f}x")
    for key in ("mean_wait_h", "share_left", "mean_occupied"):
        if cw[key]:
            print(f"KPI agreement {key}: twinworld/ciw = {tw[key] / cw[key]:.3f}")


if __name__ == "__main__":
    main()

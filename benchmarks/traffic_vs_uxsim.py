"""twinworld's road model against UXsim on the same grid network and demand.

An N x N grid of two-way 1 km links (20 m/s, jam density 0.2 veh/m: UXsim's defaults, capacity
2880 veh/h), trips from every boundary node to every node on the opposite side for the first
3000 s at ``--flow`` veh/s per OD pair (the default gives 60,500 vehicles on 11 x 11), run for 2 h.
Both move platoons of 5 vehicles (UXsim's ``deltan``) and re-plan routes every 10 minutes
(UXsim's DUO update, twinworld's dynamic rerouting); everything else is each tool's default.

Both tools are stochastic (route-choice draws, merges, tie-breaking noise), and on this congested
grid one seed's total travel time varies by several percent from the next, so agreement is judged
on the mean over ``--seeds`` seeds of each (the same seed numbers, not the same random draws).

    python benchmarks/traffic_vs_uxsim.py                 # 11 x 11, 15 seeds, UXsim C++ + twinworld
    python benchmarks/traffic_vs_uxsim.py --python        # also UXsim's (slow) Python mode, 1 seed
    python benchmarks/traffic_vs_uxsim.py --size 5 --seeds 5

The road engine runs as compiled at install (mypyc; ``TWINWORLD_PURE_PYTHON=1`` runs its Python
source, same numbers). Prints each tool's wall time per run, completed trips and total travel time
(completed trips), means and ratios, and first the time of a 100,000-household evacuation of the
Helsinki extract.
"""

from __future__ import annotations

import argparse
import time
import warnings


def boundary_pairs(n: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Every (origin, destination) from a boundary node to each node on the opposite side."""
    pairs = []
    for a in range(n):
        for b in range(n):
            pairs += [((0, a), (n - 1, b)), ((n - 1, a), (0, b)), ((a, 0), (b, n - 1)), ((a, n - 1), (b, 0))]
    return pairs


def run_uxsim(n: int, flow: float, *, cpp: bool, t_end: float = 3000, tmax: float = 7200,
              seed: int = 0, platoon: int = 5) -> dict[str, float]:
    """Run UXsim (Python or C++ mode); returns wall time, trips, completed, total travel time (h)."""
    import uxsim

    started = time.perf_counter()
    world = uxsim.World(name="", deltan=platoon, tmax=tmax, print_mode=0, save_mode=0, show_mode=0,
                        random_seed=seed, cpp=cpp)
    nodes = {(i, j): world.addNode(f"n{i}_{j}", i, j) for i in range(n) for j in range(n)}
    for (i, j) in nodes:
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if (i + di, j + dj) in nodes:
                world.addLink(f"l{i}_{j}_{i + di}_{j + dj}", nodes[i, j], nodes[i + di, j + dj],
                              length=1000, free_flow_speed=20, jam_density=0.2)
    for origin, dest in boundary_pairs(n):
        world.adddemand(nodes[origin], nodes[dest], 0, t_end, flow)
    world.exec_simulation()
    world.analyzer.basic_analysis()
    wall = time.perf_counter() - started
    a = world.analyzer
    return {"wall_s": wall, "trips": float(a.trip_all), "completed": float(a.trip_completed),
            "ttt_veh_h": float(a.total_travel_time) / 3600.0,
            "ttt_all_veh_h": _uxsim_time_all_h(world, tmax)}


def _uxsim_time_all_h(world, tmax: float) -> float:
    """Vehicle-hours of every vehicle that departed: to arrival, or to the end for the rest."""
    seconds = 0.0
    for vehicle in world.VEHICLES.values():
        if vehicle.state == "end":
            seconds += float(vehicle.travel_time)
        elif vehicle.state in ("wait", "run"):
            seconds += tmax - float(vehicle.departure_time) * world.DELTAT
    return seconds * world.DELTAN / 3600.0


def grid_scenario(n: int, flow: float, *, t_end: float = 3000, tmax: float = 7200,
                  platoon: int = 5, **options: object) -> dict:
    """The same network and demand as a twinworld scenario (UXsim node (i, j) = grid node "i,j")."""
    od = [{"origin": f"{o[0]},{o[1]}", "destination": f"{d[0]},{d[1]}", "vehicles": flow * t_end,
           "start": 0.0, "end": t_end / 3600.0} for o, d in boundary_pairs(n)]
    roads = {"kind": "road_network", "source": {"grid": {"rows": n, "cols": n}}, "od": od,
             "platoon_size": platoon, **options}
    return {"twinworld": 1, "name": f"grid {n}x{n}", "horizon": tmax / 3600.0,
            "systems": {"roads": roads},
            "strategies": {"baseline": {"roads": {"kind": "dynamic_rerouting", "every": "10min"}}}}


def run_twinworld(n: int, flow: float, *, t_end: float = 3000, tmax: float = 7200,
                  platoon: int = 5, seed: int = 0, **options: object) -> dict[str, float]:
    """Load and run the grid scenario in twinworld (network build included in the wall time)."""
    from twinworld import load_scenario
    from twinworld.core.cache import _PROCESS_CACHE
    from twinworld.experiments.run import run

    _PROCESS_CACHE.clear()
    started = time.perf_counter()
    scenario = load_scenario(grid_scenario(n, flow, t_end=t_end, tmax=tmax, platoon=platoon, **options))
    result = run(scenario, "baseline", seed)
    wall = time.perf_counter() - started
    k = result.kpis
    trips = sum(round(flow * t_end) for _ in boundary_pairs(n))
    return {"wall_s": wall, "run_s": result.wall_s, "trips": float(trips),
            "completed": k["trips_completed"],
            "ttt_veh_h": k["mean_travel_time_min"] * k["trips_completed"] / 60.0,
            "ttt_all_veh_h": k["total_travel_time_veh_h"]}


def run_helsinki(households: int = 100_000) -> dict[str, float]:
    """The Helsinki evacuation scenario with ``households`` households, one car each."""
    from pathlib import Path

    from twinworld import load_scenario
    from twinworld.experiments.run import run

    path = Path(__file__).resolve().parents[1] / "scenarios" / "helsinki_evacuation.yaml"
    share = households / 100_000
    started = time.perf_counter()
    scenario = load_scenario(path, overrides=[
        "systems.roads.vehicles_per_household=1.0",
        f"systems.roads.zones.0.households={15000 * share:.0f}",
        f"systems.roads.zones.1.households={85000 * share:.0f}"])
    result = run(scenario, "rerouting", 1)
    return {"wall_s": time.perf_counter() - started, "run_s": result.wall_s,
            "completed": result.kpis["trips_completed"]}


def mean_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Column means of a list of result rows."""
    return {key: sum(r[key] for r in runs) / len(runs) for key in runs[0]}


def compare(n: int, flow: float, seeds: int, *, python: bool = False) -> dict[str, dict[str, float]]:
    """Mean results of ``seeds`` runs of each tool (UXsim's Python mode: one run, if asked).

    The tools take turns seed by seed, so both see the same load on a shared machine.
    """
    runs: dict[str, list[dict[str, float]]] = {"twinworld": [], "uxsim C++": []}
    for seed in range(seeds):
        runs["twinworld"].append(run_twinworld(n, flow, seed=seed))
        try:
            runs["uxsim C++"].append(run_uxsim(n, flow, cpp=True, seed=seed))
        except Exception as err:  # the C++ engine is optional in UXsim builds
            print(f"UXsim C++ mode unavailable: {err}")
    rows = {name: mean_of(r) for name, r in runs.items() if r}
    if python:
        rows["uxsim Python"] = run_uxsim(n, flow, cpp=False)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=11)
    parser.add_argument("--flow", type=float, default=1 / 24, help="veh/s per OD pair")
    parser.add_argument("--seeds", type=int, default=15, help="runs of each tool, averaged")
    parser.add_argument("--python", action="store_true", help="add one run of UXsim's Python mode")
    parser.add_argument("--no-helsinki", action="store_true", help="skip the Helsinki evacuation")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not args.no_helsinki:
        helsinki = run_helsinki()
        print(f"Helsinki, 100,000 households (one car each), 10 h, rerouting: {helsinki['wall_s']:.2f} s "
              f"(run {helsinki['run_s']:.2f} s), {helsinki['completed']:.0f} vehicles arrived")
    rows = compare(args.size, args.flow, args.seeds, python=args.python)
    tw = rows["twinworld"]
    from twinworld.systems.traffic import ENGINE_BUILD

    print(f"twinworld's road engine: {ENGINE_BUILD} (TWINWORLD_PURE_PYTHON=1 runs the Python source)")
    print(f"{args.size}x{args.size} grid, {tw['trips']:.0f} vehicles, 2 h, mean of {args.seeds} seeds "
          f"(UXsim Python: 1 run)")
    print(f"twinworld: {tw['wall_s']:.2f} s per run with loading the scenario, "
          f"{tw['run_s']:.2f} s the run alone")
    print("TTT: vehicle-hours of completed trips (UXsim's total_travel_time); TTT all: of every "
          "departed vehicle, to the end of the run for those still driving")
    print(f"{'tool':14s} {'wall s':>8s} {'completed':>10s} {'TTT veh-h':>10s} {'TTT all':>10s} "
          f"{'speed-up of twinworld':>22s}")
    for name, r in rows.items():
        ratio = r["wall_s"] / tw["wall_s"]
        print(f"{name:14s} {r['wall_s']:8.2f} {r['completed']:10.0f} {r['ttt_veh_h']:10.1f} "
              f"{r['ttt_all_veh_h']:10.1f} {ratio:21.1f}x")
    for name, r in rows.items():
        if name != "twinworld":
            print(f"twinworld vs {name}: completed {tw['completed'] / r['completed'] - 1:+.1%}, "
                  f"TTT {tw['ttt_veh_h'] / r['ttt_veh_h'] - 1:+.1%}, "
                  f"TTT all {tw['ttt_all_veh_h'] / r['ttt_all_veh_h'] - 1:+.1%}")


if __name__ == "__main__":
    main()

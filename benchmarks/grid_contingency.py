"""N-1 contingency screening: twinworld's PTDF/LODF engine vs a pandapower rundcpp loop vs lightsim2grid.

Every tool computes the DC branch flows after each single branch outage of the same grid (the
case's own dispatch, slack taking the mismatch). twinworld's flows are checked against both peers.
Then a sweep of cascade scenarios on case118 (``scenarios/heatwave_grid.yaml``, baseline) is timed
as a plain loop over ``twinworld.experiments.run`` and through ``twinworld.experiments.sweep``.

Usage::

    python benchmarks/grid_contingency.py                       # case118 + case1354pegase, 1000 runs
    python benchmarks/grid_contingency.py --pp-sample 200       # time 200 pandapower outages, scale up
    python benchmarks/grid_contingency.py --cases case118 --runs 100 --no-sweep

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from twinworld.feeds.grid_cases import grid_case_from_net, pandapower_net  # noqa: E402
from twinworld.systems.grid.engine import GridEngine  # noqa: E402


def _injection(case) -> np.ndarray:
    gen = np.where(case.gen_in_service, case.gen_p_mw, 0.0)
    return np.bincount(case.gen_bus, weights=gen, minlength=case.n_bus) - case.load_mw


def twinworld_n1(net, name: str, repeats: int) -> tuple[np.ndarray, float, float]:
    """Post-outage flows (branch x outage), cold time (build + screen) and warm time (screen only)."""
    started = time.perf_counter()
    case = grid_case_from_net(net, name=name, key=f"bench:{name}")
    engine = GridEngine(case)
    post = engine.n_minus_1(_injection(case))
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(repeats):
        post = engine.n_minus_1(_injection(case))
    warm = (time.perf_counter() - started) / repeats
    return post, cold, warm


def pandapower_n1(net, sample: int | None) -> tuple[dict[int, np.ndarray], float, int]:
    """A rundcpp loop over branch outages; returns flows per outage, time for all (scaled if sampled)."""
    import pandapower as pp

    n_lines, n_branch = len(net.line), len(net.line) + len(net.trafo)
    outages = (range(n_branch) if sample is None or sample >= n_branch
               else np.linspace(0, n_branch - 1, sample).astype(int))
    flows: dict[int, np.ndarray] = {}
    started = time.perf_counter()
    for k in outages:
        table, index = ("line", k) if k < n_lines else ("trafo", k - n_lines)
        net[table].at[index, "in_service"] = False
        pp.rundcpp(net)
        net[table].at[index, "in_service"] = True
        flows[int(k)] = np.nan_to_num(np.r_[net.res_line.p_from_mw.to_numpy(),
                                            net.res_trafo.p_hv_mw.to_numpy()])
    elapsed = time.perf_counter() - started
    return flows, elapsed * n_branch / len(outages), len(outages)


def lightsim_n1(net, repeats: int) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """lightsim2grid's DC contingency analysis (C++): flows, converged mask, warm and cold seconds.

    Warm is the best of ``repeats`` analyses on a built grid model; cold adds building the model
    from the pandapower network. None if lightsim2grid does not import.
    """
    try:
        from lightsim2grid.algorithm import AlgorithmType
        from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP
        from lightsim2grid.network import init_from_pandapower
    except ImportError:
        return None
    started = time.perf_counter()
    grid = init_from_pandapower(net)
    init_s = time.perf_counter() - started
    n_branch = len(grid.get_lines()) + len(grid.get_trafos())
    v0 = np.ones(grid.total_bus(), dtype=complex)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        sa = ContingencyAnalysisCPP(grid)
        algos = sa.available_default_algorithms()
        sa.change_algorithm(AlgorithmType.DC_KLU if AlgorithmType.DC_KLU in algos else AlgorithmType.DC_SparseLU)
        sa.add_multiple_n1(list(range(n_branch)))
        sa.compute(v0, 10, 1e-8)
        sa.compute_power_flows()
        best = min(best, time.perf_counter() - started)
    order = np.argsort([int(d[0]) for d in sa.my_defaults()])
    return (np.asarray(sa.get_power_flows())[order], np.asarray(sa.converged_mask(), dtype=bool)[order],
            best, init_s + best)


def screen(name: str, sample: int | None, repeats: int) -> dict[str, float]:
    net = pandapower_net(name)
    post, cold, warm = twinworld_n1(net, name, repeats)
    pp_flows, pp_time, pp_done = pandapower_n1(net, sample)
    pp_diff = max(np.max(np.abs(post[:, k] - f)) for k, f in pp_flows.items())
    row = {"twinworld_warm_s": warm, "twinworld_cold_s": cold, "pandapower_s": pp_time,
           "pandapower_outages_timed": pp_done, "max_diff_vs_pandapower_mw": pp_diff}
    light = lightsim_n1(pandapower_net(name), repeats=3)
    if light is not None:
        flows, converged, ls_time, ls_cold = light
        ours = post.T[converged]
        row.update(lightsim2grid_s=ls_time, lightsim2grid_cold_s=ls_cold,
                   max_diff_vs_lightsim2grid_mw=float(np.nanmax(np.abs(ours - flows[converged][:, :ours.shape[1]]))))
    return row


def sweep_timing(runs: int, use_sweep: bool) -> dict[str, float]:
    from twinworld.experiments.run import run
    from twinworld.scenario import load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "heatwave_grid.yaml"
    scenario = load_scenario(path)
    run(scenario, "baseline", seed=0)             # builds the engine once in this process
    started, cpu = time.perf_counter(), time.process_time()
    ens = [run(scenario, "baseline", seed=seed).kpis["energy_not_served_mwh"] for seed in range(runs)]
    out = {"loop_runs": runs, "loop_s": time.perf_counter() - started,
           "loop_cpu_s": time.process_time() - cpu, "mean_ens_mwh": float(np.mean(ens))}
    if use_sweep:
        from twinworld.experiments.executors import ExecutorOptions
        from twinworld.experiments.sweep import SweepOptions, sweep

        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            sweep(scenario, Path(folder) / "results",
                  SweepOptions(scenarios=runs, strategies=["baseline"], progress=False),
                  executor=ExecutorOptions(workers=2))
            out["sweep_s"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=["case118", "case1354pegase"],
                        help="grids to screen (none: only the cascade sweep)")
    parser.add_argument("--pp-sample", type=int, default=None,
                        help="time only this many pandapower outages and scale to all (default: all)")
    parser.add_argument("--repeats", type=int, default=20, help="twinworld warm repeats")
    parser.add_argument("--runs", type=int, default=1000, help="cascade runs on case118")
    parser.add_argument("--no-sweep", action="store_true", help="skip twinworld.experiments.sweep")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 shared cores)")
    if args.cases:      # pay one-time imports of both tools before anything is timed
        warm = pandapower_net("case9")
        GridEngine(grid_case_from_net(warm, name="case9", key="bench:warm-up")).n_minus_1(
            np.zeros(len(warm.bus)))
        lightsim_n1(pandapower_net("case9"), repeats=1)
    for name in args.cases:
        sample = args.pp_sample if args.pp_sample else None
        row = screen(name, sample, args.repeats)
        print(f"\n{name}: N-1 screening of every branch")
        print(f"  twinworld (matrices cached): {row['twinworld_warm_s'] * 1e3:9.2f} ms")
        print(f"  twinworld (cold: read+build): {row['twinworld_cold_s'] * 1e3:8.1f} ms")
        print(f"  pandapower rundcpp loop:     {row['pandapower_s'] * 1e3:9.1f} ms"
              f"  ({row['pandapower_outages_timed']} outages timed)")
        print(f"  speed-up vs pandapower:      {row['pandapower_s'] / row['twinworld_warm_s']:9.0f}x warm, "
              f"{row['pandapower_s'] / row['twinworld_cold_s']:.0f}x cold")
        print(f"  max |flow diff| vs pandapower: {row['max_diff_vs_pandapower_mw']:.2e} MW")
        if "lightsim2grid_s" in row:
            print(f"  lightsim2grid (C++, DC):     {row['lightsim2grid_s'] * 1e3:9.2f} ms warm, "
                  f"{row['lightsim2grid_cold_s'] * 1e3:.1f} ms cold (model built from pandapower)")
            print(f"  twinworld / lightsim2grid:   {row['twinworld_warm_s'] / row['lightsim2grid_s']:9.2f}x time"
                  f" (warm), {row['twinworld_cold_s'] / row['lightsim2grid_cold_s']:.2f}x (cold)")
            print(f"  max |flow diff| vs lightsim2grid: {row['max_diff_vs_lightsim2grid_mw']:.2e} MW")
        else:
            print("  lightsim2grid: not importable, skipped")
    if args.runs:
        sweep = sweep_timing(args.runs, not args.no_sweep)
        print(f"\ncase118 cascades (heatwave_grid.yaml, baseline): {sweep['loop_runs']} runs")
        print(f"  loop over experiments.run:   {sweep['loop_s']:8.1f} s wall, {sweep['loop_cpu_s']:.1f} s CPU "
              f"({sweep['loop_s'] / sweep['loop_runs'] * 1e3:.1f} ms/run); mean ENS {sweep['mean_ens_mwh']:.0f} MWh")
        if "sweep_s" in sweep:
            print(f"  experiments.sweep, 2 workers: {sweep['sweep_s']:7.1f} s wall")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

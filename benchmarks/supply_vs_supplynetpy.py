"""twinworld's supply network against SupplyNetPy 0.5.1 on the same network and demand.

One infinite supplier feeds W warehouses over lanes with a fixed lead time; each warehouse runs
(s, S) continuous review and serves C customers with Poisson unit demand; demand that finds no
stock is lost (SupplyNetPy: customers with no tolerance; twinworld: ``unmet_demand: lost_sales``).
Both run R replications of the same horizon; we compare wall time and the fill rate
(units served / units ordered), each with a 95% interval.

    PYTHONPATH=. python benchmarks/supply_vs_supplynetpy.py [--replications 20] [--days 365]
"""

from __future__ import annotations

import argparse
import logging
import platform
import time
import warnings

import numpy as np
from scipy import stats


def twinworld_scenario(warehouses: int, customers: int, rate: float, lead_d: float, s: int, S: int,
                       days: int) -> dict:
    whs = [f"W{i}" for i in range(warehouses)]
    custs = [(f"C{i}_{j}", w) for i, w in enumerate(whs) for j in range(customers)]
    return {"twinworld": 1, "name": "bench", "horizon": f"{days}d", "systems": {"supply": {
        "kind": "supply_network", "unmet_demand": "lost_sales",
        "suppliers": [{"name": "F"}],
        "warehouses": [{"name": w, "sources": ["F"], "initial_units": S,
                        "policy": {"kind": "s_S", "reorder_point_units": s, "order_up_to_units": S}} for w in whs],
        "customers": [{"name": c, "demand_per_day": rate, "served_by": w} for c, w in custs],
        "lanes": [{"origin": "F", "destination": w, "lead_time": f"{lead_d}d"} for w in whs]
                 + [{"origin": w, "destination": c, "lead_time": 0} for c, w in custs]}}}


def run_twinworld(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    from twinworld.experiments.run import run
    from twinworld.scenario import load_scenario

    scenario = load_scenario(twinworld_scenario(args.warehouses, args.customers, args.rate, args.lead_days,
                                                args.s, args.S, args.days))
    times, fills = [], []
    for seed in range(args.replications):
        start = time.perf_counter()
        result = run(scenario, "baseline", seed=seed)
        times.append(time.perf_counter() - start)
        fills.append(result.kpis["fill_rate"])
    return times, fills


def run_supplynetpy(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    import SupplyNetPy.Components as scm

    logging.getLogger().setLevel(logging.ERROR)
    times, fills = [], []
    for seed in range(args.replications):
        start = time.perf_counter()
        scm.set_seed(seed)
        rng = np.random.default_rng(10_000 + seed)
        nodes = [{"ID": "F", "name": "Factory", "node_type": "infinite_supplier"}]
        links, demands = [], []
        for i in range(args.warehouses):
            nodes.append({"ID": f"W{i}", "name": f"W{i}", "node_type": "warehouse", "capacity": args.S,
                          "initial_level": args.S, "inventory_holding_cost": 0.0,
                          "replenishment_policy": scm.SSReplenishment, "policy_param": {"s": args.s, "S": args.S},
                          "product_sell_price": 1.0, "product_buy_price": 0.5})
            links.append({"ID": f"L{i}", "source": "F", "sink": f"W{i}", "cost": 0,
                          "lead_time": lambda: args.lead_days})
            for j in range(args.customers):
                demands.append({"ID": f"D{i}_{j}", "name": f"D{i}_{j}", "demand_node": f"W{i}",
                                "order_arrival_model": lambda rng=rng: float(rng.exponential(1.0 / args.rate)),
                                "order_quantity_model": lambda: 1})
        net = scm.create_sc_net(nodes, links, demands)
        scm.simulate_sc_net(net, args.days, logging=False)
        placed = sum(d.stats.demand_placed[1] for d in net["demands"].values())
        lost = sum(net["nodes"][f"W{i}"].stats.lost_sales[1] for i in range(args.warehouses))
        times.append(time.perf_counter() - start)
        fills.append(1.0 - lost / placed)
    return times, fills


def summary(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values)
    half = stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size) if arr.size > 1 else 0.0
    return float(arr.mean()), float(half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--warehouses", type=int, default=4)
    parser.add_argument("--customers", type=int, default=5, help="per warehouse")
    parser.add_argument("--rate", type=float, default=4.0, help="orders per customer per day")
    parser.add_argument("--lead-days", type=float, default=5.0)
    parser.add_argument("--s", type=int, default=100)
    parser.add_argument("--S", type=int, default=160)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    orders = args.warehouses * args.customers * args.rate * args.days
    print(f"{args.warehouses} warehouses x {args.customers} customers, {args.rate:g} orders/customer/day, "
          f"lead time {args.lead_days:g} d, (s, S) = ({args.s}, {args.S}), {args.days} d, "
          f"~{orders:,.0f} customer orders per run, {args.replications} replications "
          f"(Python {platform.python_version()})")
    rows = {}
    for name, runner in (("SupplyNetPy 0.5.1", run_supplynetpy), ("twinworld", run_twinworld)):
        times, fills = runner(args)
        rows[name] = (summary(times), summary(fills), sum(times))
        (t, th), (f, fh), total = rows[name]
        print(f"{name:18s} {t * 1000:8.1f} ms/run (+-{th * 1000:.1f})  total {total:6.2f} s   "
              f"fill rate {f:.4f} +- {fh:.4f}")
    (tp, _), (fp, fph), _ = rows["SupplyNetPy 0.5.1"]
    (tt, _), (ft, fth), _ = rows["twinworld"]
    print(f"runtime ratio SupplyNetPy / twinworld: {tp / tt:.2f}x  "
          f"({'twinworld faster' if tt < tp else 'SupplyNetPy faster'})")
    diff = ft - fp
    print(f"fill-rate difference twinworld - SupplyNetPy: {diff:+.4f} "
          f"(combined 95% half-width {np.hypot(fph, fth):.4f}; "
          f"{'agree' if abs(diff) <= np.hypot(fph, fth) else 'DIFFER'})")


if __name__ == "__main__":
    main()

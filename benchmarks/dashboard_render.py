"""Time to first render of the dashboard in headless chromium: the sweep explorer on a 10,000-run
sweep, and the region map of a scenario with roads.

    PYTHONPATH=. python benchmarks/dashboard_render.py [--runs 10000] [--scenario scenarios/helsinki_evacuation.yaml]

The sweep is *generated*: the flu-wave scenario's real LHS design (2,000 samples x 5 strategies)
with synthetic KPI values (a fixed linear response to the sampled parameters plus noise), written
in the results-store format. Generated, not simulated, because 10,000 real runs take ~15 minutes on
two cores and the dashboard's cost does not depend on where the numbers came from.

The peer is the direct way of plotting a sweep with the same Plotly.js: one HTML page with every
run in the figures (box plots of all values and a scatter of all runs), as a notebook would make.
Both are opened in the same chromium; the ratio compares their times to first render.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
EXPLORER_READY = ("() => document.querySelector('#summary-table') && "
                  "document.querySelector('#explorer-box .main-svg') && "
                  "document.querySelector('#explorer-scatter .scatterlayer .point') && "
                  "document.querySelector('#explorer-hist .main-svg') && "
                  "document.querySelector('#explorer-regret .main-svg')")
RANKED = "() => document.querySelector('#ranking-table')"
MAP_READY = "() => document.querySelector(\"[id*='region-graph'] .scatterlayer .point\")"


def generate_sweep(folder: Path, runs: int, seed: int = 0) -> Path:
    """A sweep folder of ``runs`` rows: real design points, synthetic KPIs (see the module text)."""
    from twinworld.experiments.design import make_design
    from twinworld.experiments.store import BASE_COLUMNS
    from twinworld.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    strategies = list(scenario.strategies)
    samples = runs // len(strategies)
    plan = make_design(scenario, kind="lhs", scenarios=samples, replications=1)
    rng = np.random.default_rng(seed)
    x = (plan.values - plan.values.mean(axis=0)) / plan.values.std(axis=0)
    kpis = scenario.kpis
    weights = rng.normal(0, 1, (len(kpis), x.shape[1]))
    effect = {s: rng.uniform(0.6, 1.2) for s in strategies}
    rows = []
    for k, name in enumerate(kpis):
        base = 50 + 20 * (x @ weights[k]) + rng.normal(0, 5, samples)
        for s in strategies:
            rows.append(pd.DataFrame({"kpi": name, "strategy": s, "scenario_index": np.arange(samples),
                                      "value": np.clip(base * effect[s] + rng.normal(0, 3, samples), 0, None)}))
    long = pd.concat(rows)
    wide = long.pivot_table("value", ["scenario_index", "strategy"], "kpi").reset_index()
    frame = pd.DataFrame({
        "run_id": [f"s{i:06d}-r00-{s}" for i, s in zip(wide["scenario_index"], wide["strategy"])],
        "scenario_index": wide["scenario_index"].astype("int64"), "replication": 0, "strategy": wide["strategy"],
        "seed": wide["scenario_index"].astype("int64"), "status": "ok", "error": "", "attempts": 1, "wall_s": 0.1})
    for j, p in enumerate(plan.parameters):
        frame[f"param.{p}"] = plan.values[frame["scenario_index"].to_numpy(), j]
    for name in kpis:
        frame[f"kpi.{name}"] = wide[name].to_numpy()
    assert [c for c, _ in BASE_COLUMNS] == list(frame.columns[:len(BASE_COLUMNS)])
    (folder / "results").mkdir(parents=True, exist_ok=True)
    frame.sort_values("run_id").to_parquet(folder / "results" / "part-00000001.parquet", index=False)
    manifest = {"twinworld_results": 1, "scenario": scenario.name + " (generated KPIs)",
                "scenario_file": str(ROOT / "scenarios" / "hospital_surge.yaml"), "scenario_sha256": "generated",
                "design": "lhs", "scenarios": samples, "replications": 1, "strategies": strategies,
                "parameters": list(plan.parameters), "runs": len(frame), "complete": True,
                "kpis": {k: {"direction": "minimize", "unit": ""} for k in kpis},
                "ranking": scenario.ranking.model_dump(mode="json"), "seed": 0}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def naive_page(folder: Path, target: Path) -> Path:
    """The peer: a page with every run in the figures, drawn by the same plotly.js."""
    import plotly
    import plotly.graph_objects as go

    runs = pd.read_parquet(folder / "results")
    kpi = json.loads((folder / "manifest.json").read_text())["ranking"]["primary"]
    param = next(c for c in runs.columns if c.startswith("param."))
    box = go.Figure([go.Box(y=part[f"kpi.{kpi}"], name=s, boxpoints="all") for s, part in runs.groupby("strategy")])
    scatter = go.Figure([go.Scatter(x=part[param], y=part[f"kpi.{kpi}"], mode="markers", name=s)
                         for s, part in runs.groupby("strategy")])
    hist = go.Figure([go.Histogram(x=part[f"kpi.{kpi}"], name=s) for s, part in runs.groupby("strategy")])
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", target.parent / "plotly.min.js")
    divs = "".join(f"<div id='f{i}'></div>" for i in range(3))
    calls = "".join(f"Plotly.newPlot('f{i}', {fig.to_json()});" for i, fig in enumerate((box, scatter, hist)))
    target.write_text(f"<html><head><script src='plotly.min.js'></script></head><body>{divs}<script>{calls}"
                      "document.body.setAttribute('data-done','1');</script></body></html>")
    return target


def server_side_cpu(source, repeats: int = 5) -> float:
    """CPU seconds of the explorer's first-render callback body (the median of ``repeats``)."""
    from twinworld.dashboard import charts
    from twinworld.dashboard.sweepdata import Filters
    from twinworld.dashboard.views import explorer

    kpi, filters, colours = source.primary, Filters(), charts.strategy_colours(source.strategies)
    x = source.parameters[0]
    times = []
    for _ in range(repeats):
        started = time.process_time()
        explorer._counts(source, filters)
        explorer._summary(source, kpi, filters)
        charts.box_figure(source.box_stats(kpi, filters), kpi, "", "minimize", colours)
        charts.histogram_figure(source.histogram(kpi, filters), kpi, "", colours)
        charts.regret_figure(source.regret(kpi, filters), kpi, "", colours)
        charts.scatter_figure(source.sample(x, kpi, filters), x, kpi, colours, total=10_000)
        explorer._worst(source, kpi, filters)
        times.append(time.process_time() - started)
    return statistics.median(times)


def time_page(browser, url: str, ready: str, repeats: int, *, warm: bool = False) -> list[float]:
    """Seconds from navigation to ``ready``: each load in a fresh browser context (cold: nothing
    cached), or (``warm``) all in one context after an untimed first visit, as a returning user's
    browser has the scripts cached and compiled."""
    times = []
    context = browser.new_context(viewport={"width": 1440, "height": 1000}) if warm else None
    if context is not None:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(ready, timeout=120_000, polling=20)
        page.close()
    for _ in range(repeats):
        page = (context or browser).new_page(**({} if warm else {"viewport": {"width": 1440, "height": 1000}}))
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_function(ready, timeout=120_000, polling=20)
        times.append(time.perf_counter() - started)
        page.close()
    if context is not None:
        context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "helsinki_evacuation.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from twinworld.dashboard import DashboardOptions, start_dashboard

    print(f"machine load (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    work = Path(tempfile.mkdtemp(prefix="tw-dash-bench-"))
    try:
        started = time.perf_counter()
        sweep = generate_sweep(work / "sweep", args.runs)
        print(f"generated a {args.runs:,}-run sweep in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        board = start_dashboard(DashboardOptions(sweeps=(sweep,), scenario=args.scenario))
        board.serve_in_thread()
        print(f"dashboard ready to serve in {time.perf_counter() - started:.2f} s (reads the sweep into DuckDB)")
        for opened in board.context.sweeps.values():
            if opened.warming is not None:
                opened.warming.join()
        print(f"whole-sweep ranking with discovery, computed in the background, done after "
              f"{time.perf_counter() - started:.2f} s")
        naive = naive_page(sweep, work / "naive.html")
        cpu = server_side_cpu(next(iter(board.context.sweeps.values())).source)
        print(f"server side of the explorer's first render: {cpu:.3f} s CPU (DuckDB queries and figures)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            explorer = time_page(browser, board.url + "?view=explorer", EXPLORER_READY, args.repeats)
            ranked = time_page(browser, board.url + "?view=explorer", f"() => ({EXPLORER_READY[6:]}) && "
                               f"({RANKED[6:]})", args.repeats)
            peer = time_page(browser, naive.as_uri(), "() => document.body.getAttribute('data-done')", args.repeats)
            region = time_page(browser, board.url + "?view=map", MAP_READY, args.repeats)
            explorer_warm = time_page(browser, board.url + "?view=explorer", EXPLORER_READY, args.repeats, warm=True)
            peer_warm = time_page(browser, naive.as_uri(), "() => document.body.getAttribute('data-done')",
                                  args.repeats, warm=True)
            region_warm = time_page(browser, board.url + "?view=map", MAP_READY, args.repeats, warm=True)
            browser.close()
        board.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = lambda xs: f"first {xs[0]:.2f} s, median of {len(xs)} {statistics.median(xs):.2f} s"  # noqa: E731
    print(f"sweep explorer, {args.runs:,} runs (server-side aggregates): {first(explorer)}")
    print(f"  ... with the ranking table (twinworld rank, cached):    {first(ranked)}")
    print(f"peer: every run in the page (plotly.js, same browser):       {first(peer)}")
    print(f"ratio (peer / dashboard, medians): {statistics.median(peer) / statistics.median(explorer):.2f}x")
    print(f"region map of {args.scenario.name}: {first(region)}")
    print("returning visitor (scripts cached by the browser):")
    print(f"  sweep explorer: {first(explorer_warm)}; peer: {first(peer_warm)}; "
          f"ratio {statistics.median(peer_warm) / statistics.median(explorer_warm):.2f}x")
    print(f"  region map: {first(region_warm)}")
    print(f"explorer aim <= 2 s: cold {'met' if statistics.median(explorer) <= 2.0 else 'NOT met'}, "
          f"warm {'met' if statistics.median(explorer_warm) <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()

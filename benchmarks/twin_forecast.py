"""One live-twin round on the hospital scenario: 200 posterior draws x every strategy, 48 h ahead.

The twin of ``scenarios/hospital_surge.yaml`` is fed 12 hours of telemetry (every hospital's census
and admissions each hour, from a twinworld run with hidden values), then one round is timed: the
particle filter's update on those 12 hours, 200 posterior draws, each run under the 5 strategies
from the observed state (1,000 twinworld runs of 48 h), the paired ranking. The round goes through
the sweep executors:

- ``inprocess`` (one core, for the single-core cost),
- ``local`` with 2 worker processes (the default; the aim is <= 30 s on 2 cores),
- ``dask`` LocalCluster with 1 and 2 workers (how it scales on a Dask cluster; a scheduler address
  or Slurm go through the same executor).

Each executor is started before the clock (a live twin keeps it for its lifetime); the first round
of each is timed, then a second. Prints seconds per round, runs per second and the speed-up over
one core, with the load average (the machine is shared).

Run: ``PYTHONPATH=. python benchmarks/twin_forecast.py [--draws 200] [--skip-dask]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twinworld.experiments.executors import ExecutorOptions  # noqa: E402
from twinworld.scenario import load_scenario  # noqa: E402
from twinworld.twin import FilterOptions, ForecastOptions, LiveTwin, TwinOptions, TwinStore  # noqa: E402
from twinworld.twin.live import Pending  # noqa: E402
from twinworld.twin.store import Received  # noqa: E402
from twinworld.twin.synthetic import simulate_truth  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HIDDEN = {"flu_wave.start": 6.0, "flu_wave.duration": 160.0, "flu_wave.multiplier": 1.45,
          "harbour_flood.start": 100.0, "harbour_flood.duration": 30.0, "harbour_flood.share": 0.2,
          "staff_sickness.start": 110.0, "staff_sickness.share": 0.05}


def fed_twin(scenario, executor: ExecutorOptions, draws: int) -> LiveTwin:
    twin = LiveTwin(scenario, TwinStore(":memory:"), TwinOptions(
        t0=T0, filter=FilterOptions(particles=1000, seed=1),
        forecast=ForecastOptions(horizon_h=48.0, particles=draws, executor=executor, seed=1)))
    truth = simulate_truth(scenario, HIDDEN, seed=7, t0=T0, hours=12)
    by_hour = defaultdict(list)
    for record in truth.records:
        by_hour[datetime.fromisoformat(record["time"])].append(record)
    for stamp in sorted(by_hour):
        twin.ingest([Pending(Received(r["topic"], json.dumps(r["payload"]).encode(), stamp)) for r in by_hour[stamp]])
    twin.forecaster._ensure()                 # start the workers before the clock
    return twin


def timed_round(twin: LiveTwin, hour: float) -> tuple[float, dict]:
    started = time.perf_counter()
    payload = twin.round(T0 + timedelta(hours=hour))
    return time.perf_counter() - started, payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    runs = args.draws * len(scenario.strategies)
    setups = [("inprocess (1 core)", ExecutorOptions(kind="inprocess")),
              ("local, 2 processes", ExecutorOptions(kind="local", workers=2))]
    if not args.skip_dask:
        setups += [("dask LocalCluster, 1 worker", ExecutorOptions(kind="dask", workers=1)),
                   ("dask LocalCluster, 2 workers", ExecutorOptions(kind="dask", workers=2))]
    print(f"one round: {args.draws} draws x {len(scenario.strategies)} strategies = {runs} runs of 48 h "
          f"(scenarios/hospital_surge.yaml)")
    single = None
    for label, executor in setups:
        twin = fed_twin(scenario, executor, args.draws)
        try:
            first, payload = timed_round(twin, 12.0)
            second, _ = timed_round(twin, 12.5)
        finally:
            twin.close()
        single = single or first
        load = os.getloadavg()[0]
        print(f"  {label:32s} round {first:6.1f} s, again {second:6.1f} s | {runs / first:5.1f} runs/s | "
              f"speed-up {single / first:4.2f}x | load {load:.2f} | recommended {payload['recommended']}, "
              f"failed runs {payload['failed_runs']}")
    print("aim: <= 30 s for a round on 2 cores")


if __name__ == "__main__":
    main()

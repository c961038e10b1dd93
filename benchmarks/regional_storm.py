"""The flagship region: one run, the coupling overhead, and a sweep with its time and peak memory.

    python benchmarks/regional_storm.py                      # runs + overhead + a 1,000-scenario sweep
    python benchmarks/regional_storm.py --scenarios 100 --runs 10

Coupling overhead = time of the coupled flagship run / the sum of its five systems run alone (each
with its own disruptions, no couplings), same seeds, in one process after a warm-up run (so static
inputs such as the road network and the grid's PTDF are built once, as in a sweep worker). The
sweep uses 2 local worker processes; peak memory is the largest resident set of the driver plus its
workers, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

import twinworld  # noqa: E402
from twinworld.scenario.uncertain import resolve, sample_values  # noqa: E402

SCENARIO = ROOT / "scenarios" / "regional_storm.yaml"


def alone(scenario, system: str):
    """The scenario with only ``system``: its section, its disruptions, its strategies' parts."""
    disruptions = [d for d in scenario.disruptions if d.target.split(".")[0] == system]
    strategies = {name: {s: levers for s, levers in parts.items() if s == system}
                  for name, parts in scenario.strategies.items()}
    return scenario.model_copy(update={"systems": {system: scenario.systems[system]}, "couplings": [],
                                       "disruptions": disruptions, "strategies": strategies})


def time_runs(scenario, seeds: range, strategy: str = "baseline") -> float:
    """Mean wall seconds of one run over ``seeds`` (values sampled once per seed, outside the clock)."""
    resolved = [resolve(scenario, sample_values(scenario, s)) for s in seeds]
    twinworld.run(resolved[0], strategy, seed=seeds[0])          # warm-up: static inputs built once
    started = time.perf_counter()
    for seed, r in zip(seeds, resolved):
        twinworld.run(r, strategy, seed=seed)
    return (time.perf_counter() - started) / len(resolved)


def overhead(runs: int) -> None:
    scenario = twinworld.load_scenario(SCENARIO)
    seeds = range(1, runs + 1)
    coupled = time_runs(scenario, seeds)
    parts = {name: time_runs(alone(scenario, name), seeds) for name in scenario.systems}
    total = sum(parts.values())
    print(f"one flagship run (baseline, mean of {runs}): {coupled * 1e3:.0f} ms")
    for name, seconds in parts.items():
        print(f"  {name:<10} alone: {seconds * 1e3:7.1f} ms")
    print(f"  sum of the five alone: {total * 1e3:.0f} ms  ->  coupling overhead {coupled / total:.2f}x")


class PeakMemory:
    """The largest resident set of this process and its children, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.is_set():
            try:
                total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                total = 0
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def sweep(scenarios: int) -> None:
    with tempfile.TemporaryDirectory() as folder, PeakMemory() as memory:
        started = time.perf_counter()
        done = twinworld.sweep(SCENARIO, Path(folder) / "storm", twinworld.SweepOptions(scenarios=scenarios),
                               executor=twinworld.ExecutorOptions(workers=2))
        wall = time.perf_counter() - started
    print(f"sweep: {scenarios} scenarios x 6 strategies = {done.runs} runs ({done.failed} failed) in "
          f"{wall:.0f} s = {done.runs / wall:.1f} runs/s on 2 workers; peak memory {memory.peak / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs timed for the overhead (default 20)")
    parser.add_argument("--scenarios", type=int, default=1000, help="sweep size (0: no sweep)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    overhead(args.runs)
    if args.scenarios:
        sweep(args.scenarios)


if __name__ == "__main__":
    main()

"""The flagship region: one run, the coupling overhead, and a sweep with its time and peak memory.

    python benchmarks/regional_storm.py                      # runs + overhead + a 1,000-scenario sweep
    python benchmarks/regional_storm.py --scenarios 100 --runs 10

Coupling overhead = time of the coupled flagship run / the sum of its five systems run alone (each
with its own disruptions, no couplings), same seeds, in one process after a warm-up run (so static
inputs such as the road network and the grid's PTDF are built once, as in a sweep worker). The six
cases take turns seed by seed and the figures are medians, so the noise of a shared machine hits
them alike. The sweep uses 2 local worker processes; peak memory is the largest resident set of
the driver plus its workers, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def overhead(runs: int) -> None:
    """Time the coupled run and each system alone, seed by seed in turns (so a slow minute on a
    shared machine hits all of them alike); medians over the seeds, and the median of the
    per-seed ratios."""
    scenario = twinworld.load_scenario(SCENARIO)
    seeds = range(1, runs + 1)
    cases = {"flagship": scenario, **{name: alone(scenario, name) for name in scenario.systems}}
    # values sampled once per seed, outside the clock; a warm-up run builds static inputs once
    resolved = {name: [resolve(case, sample_values(case, s)) for s in seeds] for name, case in cases.items()}
    for name in cases:
        twinworld.run(resolved[name][0], "baseline", seed=seeds[0])
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i, seed in enumerate(seeds):
        for name in cases:
            started = time.perf_counter()
            twinworld.run(resolved[name][i], "baseline", seed=seed)
            times[name].append(time.perf_counter() - started)
    coupled = statistics.median(times["flagship"])
    parts = {name: statistics.median(t) for name, t in times.items() if name != "flagship"}
    total = sum(parts.values())
    ratios = [times["flagship"][i] / sum(t[i] for name, t in times.items() if name != "flagship")
              for i in range(runs)]
    print(f"one flagship run (baseline, median of {runs}; mean {statistics.mean(times['flagship']) * 1e3:.0f} ms): "
          f"{coupled * 1e3:.0f} ms")
    for name, seconds in parts.items():
        print(f"  {name:<10} alone: {seconds * 1e3:7.1f} ms")
    print(f"  sum of the five alone: {total * 1e3:.0f} ms  ->  coupling overhead {coupled / total:.2f}x "
          f"(median of the per-seed ratios: {statistics.median(ratios):.2f}x)")


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

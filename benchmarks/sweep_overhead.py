"""Sweep overhead: twinworld vs EMA Workbench's MultiprocessingEvaluator vs Mesa's batch_run.

The same work for each tool, with the same number of runs and processes:

1. the *trivial model* (``cost = load * size * factor + noise``, see ``benchmarks/sweep_models.py``):
   N scenario samples x 2 strategies;
2. the *hospital scenario* (``scenarios/hospital_surge.yaml``): N samples x 5 strategies, every tool
   calling the same ``twinworld.run``.

For each: runs per second, and overhead per run = wall x processes / runs - model time per run
(the trivial model's arithmetic, or the hospital run's own time measured inside the workers).
twinworld's figure includes writing every row to Parquet, compaction and loading the DataFrame;
EMA keeps results in memory; Mesa returns a list of dicts. Each tool's clock covers its sweep call
only (not interpreter start-up or imports); twinworld and EMA run in a fresh process each, as from
their command line or a script.

Then: parallel efficiency of the hospital sweep (2 workers vs 1) and the peak memory of a
10,000-run trivial sweep (driver + workers, proportional set size), next to a 1,000-run one.

EMA Workbench 3.x needs Python >= 3.12, so it runs in a separate virtual environment::

    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/ema312
    /tmp/ema312/bin/pip install ema-workbench simpy "mesa>=3.3,<4" networkx pandas scipy pydantic pyyaml pyarrow

Run: ``PYTHONPATH=. python benchmarks/sweep_overhead.py [--quick]`` (``--ema PYTHON`` to point
elsewhere). The machine is shared: the load average is printed next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import twinworld  # noqa: E402
from benchmarks.sweep_models import HOSPITAL, HospitalMesa, TrivialMesa, trivial_registry, trivial_scenario  # noqa: E402
from twinworld.experiments.design import make_design, run_seed  # noqa: E402

DEFAULT_EMA = Path("/tmp/ema312/bin/python")


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


# ------------------------------------------------------------------------------- the tools --
def cpu_seconds() -> float:
    """CPU time of this process, its finished worker processes, and its live children with theirs.

    Live children matter for forkserver workers: they are the forkserver's children, reaped by it,
    and the forkserver lives on (``psutil`` reads its ``children_user``/``children_system``).
    """
    import resource

    import psutil

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
    for child in psutil.Process().children():
        try:
            t = child.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def run_twinworld(kind: str, n: int, runs_expected: int, workers: int, folder: Path) -> dict:
    """twinworld's sweep in a fresh process, as ``twinworld sweep`` runs (single-threaded driver,
    so workers are forked; this benchmark's own process has Mesa's tqdm thread running)."""
    done = subprocess.run([sys.executable, __file__, "--twinworld-child", kind, str(n), str(workers),
                           str(folder)], capture_output=True, text=True, cwd=ROOT, timeout=3600,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["runs"] == runs_expected, (result["runs"], runs_expected)
    return result


def twinworld_child(kind: str, n: int, workers: int, folder: str) -> None:
    if kind == "trivial":
        scenario = twinworld.load_scenario(trivial_scenario(n), registry=trivial_registry())
    else:
        base = twinworld.load_scenario(HOSPITAL)
        scenario = base.model_copy(update={"sweep": base.sweep.model_copy(update={"scenarios": n})})
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    frame = twinworld.sweep(scenario, folder, twinworld.SweepOptions(progress=False),
                            executor=twinworld.ExecutorOptions(workers=workers)).table()
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    plan = make_design(scenario, scenarios=n)
    run_cpu = twinworld_run_cpu(scenario, plan, min(n, 2000 if kind == "trivial" else 6))
    print(json.dumps({"tool": "twinworld", "runs": len(frame), "processes": workers, "wall_s": wall,
                      "cpu_s": cpu, "run_cpu_s": run_cpu, "model_s": float(frame["wall_s"].mean()),
                      "failed": int((frame["status"] != "ok").sum())}))


def run_mesa(model_cls, parameters: dict, runs_expected: int, workers: int) -> dict:
    from mesa.batchrunner import batch_run

    cpu_before = cpu_seconds()
    started = time.perf_counter()
    rows = batch_run(model_cls, parameters, number_processes=workers, iterations=1, max_steps=1,
                     data_collection_period=-1, display_progress=False)
    wall = time.perf_counter() - started
    assert len(rows) == runs_expected, (len(rows), runs_expected)
    return {"tool": "mesa.batch_run", "runs": len(rows), "processes": workers, "wall_s": wall,
            "cpu_s": cpu_seconds() - cpu_before}


def run_ema(python: Path, kind: str, scenarios: int, workers: int) -> dict | None:
    if not python.exists():
        print(f"  !! EMA Workbench skipped: {python} is missing. Create it with:\n"
              f"     ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/ema312 && /tmp/ema312/bin/pip "
              "install ema-workbench simpy 'mesa>=3.3,<4' networkx pandas scipy pydantic pyyaml pyarrow")
        return None
    done = subprocess.run([str(python), str(ROOT / "benchmarks" / "ema_model.py"), kind, str(scenarios),
                           str(workers)], capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        print(f"  !! EMA Workbench failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(title: str, results: list[dict], model_s: float) -> None:
    """Runs/s; overhead per run from wall time (x processes) and from CPU time, minus model time."""
    print(f"\n{title}  (model time per run {model_s * 1e3:.3f} ms; {load()})")
    print(f"  {'tool':<16}{'runs':>7}{'procs':>6}{'wall s':>9}{'runs/s':>10}{'CPU ms/run':>12}"
          f"{'overhead/run ms (wall)':>24}{'(CPU)':>9}")
    for r in results:
        r["runs_per_s"] = r["runs"] / r["wall_s"]
        r["overhead_ms"] = (r["wall_s"] * r["processes"] / r["runs"] - model_s) * 1e3
        r["cpu_overhead_ms"] = (r["cpu_s"] / r["runs"] - model_s) * 1e3
        print(f"  {r['tool']:<16}{r['runs']:>7}{r['processes']:>6}{r['wall_s']:>9.2f}"
              f"{r['runs_per_s']:>10.1f}{r['cpu_s'] / r['runs'] * 1e3:>12.3f}"
              f"{r['overhead_ms']:>24.3f}{r['cpu_overhead_ms']:>9.3f}")
    ours = next(r for r in results if r["tool"] == "twinworld")
    peers = [r for r in results if r["tool"] != "twinworld"]
    for key, what in (("overhead_ms", "wall"), ("cpu_overhead_ms", "CPU")):
        if peers:
            best = min(peers, key=lambda r: r[key])
            if best[key] <= 0 or ours[key] <= 0:
                print(f"  overhead ({what}) lost in the noise of the model time (<= 0): no ratio")
                continue
            ratio = ours[key] / best[key]
            print(f"  overhead ratio ({what}) twinworld / best peer ({best['tool']}): {ratio:.2f} "
                  "(aim <= 0.33)")
    for peer in peers:
        print(f"  throughput twinworld / {peer['tool']}: {ours['runs_per_s'] / peer['runs_per_s']:.2f}x")


# ------------------------------------------------------------------------------- sections --
def trivial_section(n: int, workers: int, ema: Path, tmp: Path) -> None:
    scenario = twinworld.load_scenario(trivial_scenario(n), registry=trivial_registry())
    plan = make_design(scenario, scenarios=n)
    points = [tuple(row) for row in plan.values]
    started = time.perf_counter()
    for load_, size in points:  # the bare model, for "model time per run"
        float(load_) * float(size) * 0.5 + float(np.random.default_rng(1).normal())
    model_s = (time.perf_counter() - started) / len(points)
    results = [run_twinworld("trivial", n, 2 * n, workers, tmp / "trivial")]
    results.append(run_mesa(TrivialMesa, {"point": points, "factor": [1.0, 0.5]}, 2 * n, workers))
    ema_result = run_ema(ema, "trivial", n, workers)
    if ema_result:
        results.append(ema_result)
    report(f"Trivial model: {n} samples x 2 strategies = {2 * n} runs, {workers} processes", results, model_s)
    run_cpu = results[0]["run_cpu_s"]
    machinery = results[0]["cpu_s"] / results[0]["runs"] - run_cpu
    print(f"  twinworld.run itself (World + SimPy + streams + the model): {run_cpu * 1e3:.3f} ms CPU/run; "
          f"sweep machinery beyond it: {machinery * 1e3:.3f} ms CPU/run")
    if ema_result:
        print(f"  machinery ratio twinworld / ema_workbench (CPU): "
              f"{machinery * 1e3 / results[-1]['cpu_overhead_ms']:.2f}")


def twinworld_run_cpu(scenario, plan, points: int) -> float:
    """CPU seconds of one ``twinworld.run`` at the design's points, in this process."""
    started = time.process_time()
    for i in range(points):
        for strategy in plan.strategies:
            seed = run_seed(plan.seed, i, 0)
            twinworld.run(scenario, strategy, seed=seed, values=plan.point(i),
                          run_seed=np.random.SeedSequence(seed))
    return (time.process_time() - started) / (points * len(plan.strategies))


def hospital_section(n: int, workers: int, ema: Path, tmp: Path) -> dict:
    scenario = twinworld.load_scenario(HOSPITAL)
    strategies = list(scenario.strategies)
    runs = n * len(strategies)
    ours = run_twinworld("hospital", n, runs, workers, tmp / "hospital")
    results = [ours]
    results.append(run_mesa(HospitalMesa, {"scenario_index": list(range(n)), "strategy": strategies,
                                           "scenarios": n}, runs, workers))
    ema_result = run_ema(ema, "hospital", n, workers)
    if ema_result:
        results.append(ema_result)
    model_cpu = ours["run_cpu_s"]  # one twinworld.run, measured in the twinworld process
    report(f"Hospital scenario: {n} samples x {len(strategies)} strategies = {runs} runs, "
           f"{workers} processes", results, model_cpu)
    return ours


def _busy(n: int) -> float:
    started = time.process_time()
    total = 0
    for i in range(n):
        total += i * i
    return time.process_time() - started


def cores_available(processes: int = 2, loops: int = 10_000_000) -> float:
    """Cores a plain multiprocessing Pool of busy loops gets right now (the ceiling under load)."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        started = time.perf_counter()
        cpu = sum(pool.map(_busy, [loops] * processes))
        return cpu / (time.perf_counter() - started)


def efficiency_section(n: int, tmp: Path) -> None:
    base = twinworld.load_scenario(HOSPITAL)
    scenario = base.model_copy(update={"sweep": base.sweep.model_copy(update={"scenarios": n})})
    throughput, cpu_per_run, busy = {}, {}, {}
    ceiling = cores_available()
    print(f"  control: a plain multiprocessing Pool of 2 busy loops gets {ceiling:.2f} cores now")
    for workers in (1, 2):
        before = load()
        cpu_before = cpu_seconds()
        done = twinworld.sweep(scenario, tmp / f"eff{workers}", twinworld.SweepOptions(progress=False),
                               executor=twinworld.ExecutorOptions(workers=workers))
        frame, wall = done.table(), done.wall_s
        cpu = cpu_seconds() - cpu_before
        throughput[workers] = len(frame) / wall
        cpu_per_run[workers] = cpu / len(frame)
        busy[workers] = cpu / wall
        print(f"  {workers} worker(s): {len(frame)} runs in {wall:.2f} s = {throughput[workers]:.2f} runs/s; "
              f"CPU {cpu / len(frame) * 1e3:.0f} ms/run, cores kept busy {cpu / wall:.2f} "
              f"({before} -> {load()})")
    print(f"  parallel efficiency 2 vs 1 worker: {throughput[2] / (2 * throughput[1]):.1%} (aim >= 85%)")
    print(f"  CPU-normalised (CPU per run, 1 worker / 2 workers; independent of other load): "
          f"{cpu_per_run[1] / cpu_per_run[2]:.1%}")
    print(f"  2 workers kept {busy[2]:.2f} cores busy where the control pool got {ceiling:.2f}: "
          f"{busy[2] / ceiling:.1%} of what the machine gave")


def memory_child(runs: int, folder: str) -> None:
    scenario = twinworld.load_scenario(trivial_scenario(runs // 2), registry=trivial_registry())
    started = time.perf_counter()
    twinworld.sweep(scenario, folder, twinworld.SweepOptions(progress=False),
                    executor=twinworld.ExecutorOptions(workers=2))
    print(json.dumps({"wall_s": time.perf_counter() - started}))


def memory_section(sizes: list[int], tmp: Path) -> None:
    import psutil

    for runs in sizes:
        child = subprocess.Popen([sys.executable, __file__, "--memory-child", str(runs),
                                  str(tmp / f"mem{runs}")], stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
        parent = psutil.Process(child.pid)
        peak_pss = peak_rss_driver = 0
        while child.poll() is None:
            try:
                procs = [parent] + parent.children(recursive=True)
                pss = sum(p.memory_full_info().pss for p in procs)
                peak_pss = max(peak_pss, pss)
                peak_rss_driver = max(peak_rss_driver, parent.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        out = json.loads(child.stdout.read().strip().splitlines()[-1])
        print(f"  {runs:>6} runs: peak memory (driver + 2 workers, PSS) {peak_pss / 2**20:6.0f} MB; "
              f"driver RSS {peak_rss_driver / 2**20:5.0f} MB; {out['wall_s']:.1f} s ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trivial", type=int, default=5000, help="trivial-model samples (x2 runs)")
    parser.add_argument("--hospital", type=int, default=40, help="hospital samples (x5 runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ema", type=Path, default=DEFAULT_EMA, help="Python of the EMA venv")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", choices=["trivial", "hospital", "efficiency", "memory"], action="append")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--twinworld-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.memory_child:
        memory_child(int(args.memory_child[0]), args.memory_child[1])
        return
    if args.twinworld_child:
        kind, n, workers, folder = args.twinworld_child
        twinworld_child(kind, int(n), int(workers), folder)
        return
    if args.quick:
        args.trivial, args.hospital = 500, 6
    only = set(args.only or ["trivial", "hospital", "efficiency", "memory"])
    print(f"twinworld {twinworld.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"{load()} (the machine is shared with other work: figures vary with the load)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if "trivial" in only:
            trivial_section(args.trivial, args.workers, args.ema, tmp)
        if "hospital" in only:
            hospital_section(args.hospital, args.workers, args.ema, tmp)
        if "efficiency" in only:
            print(f"\nParallel efficiency, hospital scenario, {args.hospital} samples x 5 strategies")
            efficiency_section(args.hospital, tmp)
        if "memory" in only:
            print("\nPeak memory of a trivial-model sweep, local executor, 2 workers")
            memory_section([1000] if args.quick else [1000, 10000], tmp)


if __name__ == "__main__":
    main()

"""EMA Workbench's side of ``benchmarks/sweep_overhead.py`` (runs under Python >= 3.12).

Invoked as a subprocess by the benchmark with the interpreter of a separate virtual environment::

    ~/.pyenv/versions/3.12.1/bin/python -m venv /tmp/ema312
    /tmp/ema312/bin/pip install ema-workbench simpy "mesa>=3.3,<4" networkx pandas scipy pydantic pyyaml pyarrow
    /tmp/ema312/bin/python benchmarks/ema_model.py trivial 2000 2

Prints one JSON line: runs, processes, wall seconds of ``perform_experiments`` with a
``MultiprocessingEvaluator`` (pool start and stop included).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_HOSPITAL: dict = {}


def trivial(load: float = 1.0, size: float = 1.0, factor: float = 1.0) -> dict:
    """``cost = load * size * factor + noise``: the same arithmetic and one normal draw."""
    seed = zlib.crc32(np.float64(load).tobytes() + np.float64(size).tobytes())
    noise = float(np.random.default_rng(seed).normal())
    return {"cost": load * size * factor + noise}


def _hospital_scenario():
    if "scenario" not in _HOSPITAL:
        sys.path.insert(0, str(ROOT))
        import twinworld

        _HOSPITAL["scenario"] = twinworld.load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    return _HOSPITAL["scenario"]


def hospital(strategy: str = "baseline", **values: float) -> dict:
    """One twinworld hospital run at EMA's sampled point (parameter names use _ for .)."""
    import twinworld

    scenario = _hospital_scenario()
    point = {name.replace("__", "."): value for name, value in values.items()}
    seed = zlib.crc32(json.dumps(point, sort_keys=True).encode())
    result = twinworld.run(scenario, strategy, seed=seed, values=point)
    return {"turned_away": result.kpis["patients_turned_away"]}


def _experiment(kind: str, scenarios: int, processes: int) -> dict:
    from ema_workbench import (
        CategoricalParameter,
        Model,
        MultiprocessingEvaluator,
        RealParameter,
        Sample,
        ScalarOutcome,
    )

    if kind == "trivial":
        model = Model("trivial", function=trivial)
        model.uncertainties = [RealParameter("load", 0.0, 2.0), RealParameter("size", 1.0, 3.0)]
        model.levers = [RealParameter("factor", 0.4, 1.0)]
        model.outcomes = [ScalarOutcome("cost")]
        policies = [Sample("baseline", factor=1.0), Sample("damp", factor=0.5)]
    else:
        scenario = _hospital_scenario()
        from twinworld.scenario.uncertain import uncertainties

        model = Model("hospital", function=hospital)
        model.uncertainties = [RealParameter(path.replace(".", "__"), *dist.bounds)
                               for path, dist in uncertainties(scenario).items()]
        model.levers = [CategoricalParameter("strategy", list(scenario.strategies))]
        model.outcomes = [ScalarOutcome("turned_away")]
        policies = [Sample(name, strategy=name) for name in scenario.strategies]
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    with MultiprocessingEvaluator(model, n_processes=processes) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=scenarios, policies=policies)
    wall = time.perf_counter() - started
    return {"tool": "ema_workbench", "model": kind, "runs": len(experiments), "processes": processes,
            "wall_s": wall, "cpu_s": cpu_seconds() - cpu_before,
            "failed": int(np.isnan(list(outcomes.values())[0]).sum())}


def cpu_seconds() -> float:
    """CPU time of this process and its finished (joined) worker processes."""
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")
    kind, scenarios, processes = argv[0], int(argv[1]), int(argv[2])
    import ema_workbench

    result = _experiment(kind, scenarios, processes)
    result["version"] = ema_workbench.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

"""twinworld: a digital twin of a region's hospitals, ports, supply network, roads and power grid.

Describe a disruption in a scenario file, sample thousands of variants, run every response strategy
on each, and rank the strategies with honest statistics.

>>> import twinworld
>>> scenario = twinworld.load_scenario("scenarios/hospital_surge.yaml")
>>> twinworld.run(scenario, "transfer", seed=1).kpis["transfers"] > 0
True
"""

from __future__ import annotations

from typing import Any

from twinworld.analysis.ranking import Ranking, RankOptions, rank
from twinworld.errors import ScenarioError, TwinworldError
from twinworld.experiments.executors import ExecutorOptions, SlurmOptions
from twinworld.experiments.run import RunResult, run
from twinworld.experiments.sweep import SweepOptions, SweepRun, sweep
from twinworld.scenario import Scenario, load_scenario

__version__ = "0.1.0"

__all__ = ["load_scenario", "run", "sweep", "rank", "Scenario", "RunResult", "SweepOptions", "SweepRun",
           "ExecutorOptions", "SlurmOptions", "RankOptions", "Ranking", "optimize", "TwinworldError",
           "ScenarioError", "__version__"]


def optimize(*args: Any, **kwargs: Any) -> Any:
    """Search a scenario's levers (see :func:`twinworld.optimize.optimize`)."""
    from twinworld.optimize import optimize as _optimize
    return _optimize(*args, **kwargs)

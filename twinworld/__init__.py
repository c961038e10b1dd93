"""twinworld: a digital twin of a region's hospitals, ports, supply network, roads and power grid.

Describe a disruption in a scenario file, sample thousands of variants, run every response strategy
on each, and rank the strategies with honest statistics.

>>> import twinworld
>>> scenario = twinworld.load_scenario("scenarios/hospital_surge.yaml")   # doctest: +SKIP
>>> twinworld.run(scenario, "transfer", seed=1).kpis                       # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from twinworld.errors import ScenarioError, TwinworldError
from twinworld.experiments.run import RunResult, run
from twinworld.scenario import Scenario, load_scenario

__version__ = "0.1.0"

__all__ = ["load_scenario", "run", "sweep", "rank", "optimize", "Scenario", "RunResult", "TwinworldError",
           "ScenarioError", "__version__"]


def sweep(*args: Any, **kwargs: Any) -> Any:
    """Run a sweep (see :func:`twinworld.experiments.sweep.sweep`)."""
    from twinworld.experiments.sweep import sweep as _sweep
    return _sweep(*args, **kwargs)


def rank(*args: Any, **kwargs: Any) -> Any:
    """Rank strategies of a finished sweep (see :func:`twinworld.analysis.rank`)."""
    from twinworld.analysis import rank as _rank
    return _rank(*args, **kwargs)


def optimize(*args: Any, **kwargs: Any) -> Any:
    """Search a scenario's levers (see :func:`twinworld.optimize.optimize`)."""
    from twinworld.optimize import optimize as _optimize
    return _optimize(*args, **kwargs)

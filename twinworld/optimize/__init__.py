"""Deciding, not just ranking: search a scenario's levers for robust strategies, save the one chosen.

>>> import twinworld
>>> result = twinworld.optimize("scenarios/hospital_levers.yaml", "out/levers")   # doctest: +SKIP
>>> print(result.pareto)                                                          # doctest: +SKIP
"""

from twinworld.optimize.evaluate import EvaluationOptions, ObjectiveSpec
from twinworld.optimize.search import OptimizeOptions, OptimizeResult, load_optimization, optimize
from twinworld.optimize.space import LeverSpace, candidate_key
from twinworld.optimize.store import OptimizeError

__all__ = ["optimize", "OptimizeOptions", "OptimizeResult", "EvaluationOptions", "ObjectiveSpec",
           "OptimizeError", "LeverSpace", "candidate_key", "load_optimization"]

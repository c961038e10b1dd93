"""Analysis of sweep results: rank strategies, compare them paired, find where they fail.

>>> import twinworld
>>> ranking = twinworld.rank("runs/flu")          # doctest: +SKIP
>>> print(ranking.recommendation)                 # doctest: +SKIP
"""

from twinworld.analysis.discovery import Box, Finding, discover, prim
from twinworld.analysis.ranking import Ranking, RankOptions, rank
from twinworld.analysis.results import SweepResults, load_results
from twinworld.analysis.selection import SelectionResult, kn_select, select_until_confident
from twinworld.analysis.sensitivity import Sensitivity, feature_scores, sensitivity, sobol_indices

__all__ = ["rank", "RankOptions", "Ranking", "load_results", "SweepResults", "discover", "prim", "Box", "Finding",
           "kn_select", "select_until_confident", "SelectionResult", "sensitivity", "sobol_indices",
           "feature_scores", "Sensitivity"]

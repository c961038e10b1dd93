"""``optimize`` against brute force on a two-lever grid of the hospital scenario.

The hospital scenario (scenarios/hospital_surge.yaml) scaled down through overrides (three smaller
hospitals, 8 days, 6 sampled scenarios) so that the whole grid can be run in a test. Two levers of
the ``combined`` strategy's surge beds, ``release_below`` (16 values) x ``extra_share`` (23
values) = 368 candidates; one objective, the CVaR90 over the sampled scenarios of the hours a
hospital spends above 90% occupancy. Brute force runs every grid point on the very samples and run
seeds the search used (its design.csv, its seed) through a plain sweep, so:

- each candidate the search evaluated must score exactly what brute force gives that grid point
  (common random numbers: same samples, same seeds, same numbers);
- the search must reach within 2% of the brute-force optimum with at most 20% of the grid's
  evaluations (the named strategies it runs as a yardstick included).

The share of grid points within 2% of the optimum is printed, with the chance that a random search
of the same budget would land on one, to show what the 2% target means here.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

import twinworld
from twinworld.optimize import EvaluationOptions, OptimizeOptions, candidate_key, optimize
from twinworld.optimize.evaluate import candidate_scores
from twinworld.scenario.levers import candidate_parts

ROOT = Path(__file__).resolve().parents[2]
HOSPITALS = ("[{name: Central, ward_beds: 70, icu_beds: 6, arrivals_per_day: 13, electives_per_day: 2, "
             "census: {ward: 56, icu: 4}, location: [60.190, 24.905]}, "
             "{name: Harbour, ward_beds: 48, icu_beds: 4, arrivals_per_day: 9, electives_per_day: 1.5, "
             "census: {ward: 38, icu: 3}, location: [60.160, 24.950]}, "
             "{name: Northside, ward_beds: 50, icu_beds: 4, arrivals_per_day: 9.5, electives_per_day: 1.5, "
             "census: {ward: 40, icu: 3}, location: [60.280, 25.040]}]")
OVERRIDES = [
    "horizon=8d", "systems.hospitals.census_csv=null", f"systems.hospitals.hospitals={HOSPITALS}",
    "levers.vary={release_below: {field: hospitals.surge_beds.release_below, range: [0.60, 0.90], "
    "step: 0.02}, extra_share: {field: hospitals.surge_beds.extra_share, range: [0.02, 0.24], step: 0.01}}",
    "levers.objectives=[{kpi: hours_above_90pct, risk: cvar}]",
    "levers.search={scenarios: 6, population: 12, generations: 12}",
]


def _brute_force(scenario, design_csv: Path, folder: Path) -> pd.Series:
    """The objective of every grid point, from a plain sweep on the search's own samples."""
    levers = scenario.levers.vary
    names = list(levers)
    grid = [dict(zip(names, values)) for values in itertools.product(*(levers[n].grid() for n in names))]
    strategies = {candidate_key(v): candidate_parts(scenario.strategies["combined"], levers, v) for v in grid}
    runs = twinworld.sweep(scenario.model_copy(update={"strategies": strategies}), folder,
                           twinworld.SweepOptions(design="csv", design_csv=design_csv, progress=False),
                           executor=twinworld.ExecutorOptions(workers=2)).table()
    index = pd.MultiIndex.from_product([range(6), range(1)], names=["scenario_index", "replication"])
    from twinworld.optimize.search import objective_specs
    objective = objective_specs(scenario, scenario.levers)[0]
    return candidate_scores(runs, list(strategies), [objective], index, None)[objective.label]


@pytest.mark.slow
def test_optimize_reaches_the_brute_force_optimum_with_a_fifth_of_the_evaluations(tmp_path):
    scenario = twinworld.load_scenario(ROOT / "scenarios" / "hospital_surge.yaml", overrides=OVERRIDES)
    grid_size = 16 * 23
    budget = math.floor(0.2 * grid_size) - len(scenario.strategies)  # named strategies count too
    options = OptimizeOptions(evaluation=EvaluationOptions(workers=2, progress=False),
                              max_evaluations=budget, progress=False)
    result = optimize(scenario, tmp_path / "search", options=options)
    brute = _brute_force(scenario, tmp_path / "search" / "design.csv", tmp_path / "brute")
    assert len(brute) == grid_size
    label = result.labels[0]
    # Common random numbers: the search's numbers are brute force's numbers, exactly.
    assert result.candidates[label].to_dict() == brute.loc[result.candidates.index].to_dict()
    used = result.evaluations + len(scenario.strategies)
    assert used <= 0.2 * grid_size
    best, found = float(brute.min()), float(result.candidates[label].min())
    good = int((brute <= 1.02 * best).sum())
    random_hit = 1 - math.comb(grid_size - good, used) / math.comb(grid_size, used)
    print(f"brute force optimum {best:.3f} h; search found {found:.3f} h with {used} of {grid_size} "
          f"evaluations; {good} grid points ({good / grid_size:.1%}) are within 2%; a random search "
          f"of {used} would land on one with probability {random_hit:.0%}")
    assert found <= 1.02 * best
    assert good / grid_size < 0.1  # the target is a small part of the grid

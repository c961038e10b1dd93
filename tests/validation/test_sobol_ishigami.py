"""Sobol' indices from a sweep with the ``sobol`` design, against the Ishigami function's own.

Analytic values for a = 7, b = 0.1 (Ishigami & Homma 1990; Saltelli et al. 2008, "Global
Sensitivity Analysis: The Primer", 4.4): S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437.
The whole chain is exercised: SALib's Saltelli sample as the sweep's design (quantiles mapped
through each uniform), one twinworld run per sample, the results store, then SALib's estimators
with bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pytest

import twinworld
from tests.ishigami_plugin import analytic_indices, ishigami_registry, ishigami_scenario
from twinworld.analysis.sensitivity import sensitivity, sobol_from_outputs, sobol_indices
from twinworld.errors import SweepError


def test_analytic_values_are_the_published_ones():
    s1, st = analytic_indices()
    assert np.round(s1, 4).tolist() == [0.3139, 0.4424, 0.0]
    assert np.round(st, 4).tolist() == [0.5576, 0.4424, 0.2437]


@pytest.mark.slow
def test_sobol_design_sweep_recovers_ishigami_indices(tmp_path):
    registry = ishigami_registry()
    scenario = twinworld.load_scenario(ishigami_scenario(1000), registry=registry)
    runs = twinworld.sweep(scenario, tmp_path / "sobol", twinworld.SweepOptions(progress=False),
                           executor=twinworld.ExecutorOptions(kind="inprocess")).table()
    assert len(runs) == 1024 * 5  # N rounded up to 2^10, x (D + 2)
    table = sobol_indices(tmp_path / "sobol", strategy="baseline", kpi="y")
    s1, st = analytic_indices()
    assert table.attrs["base_samples"] == 1024
    for j, name in enumerate(["param.f.x1", "param.f.x2", "param.f.x3"]):
        row = table.loc[name]
        assert row["S1_low"] <= s1[j] <= row["S1_high"], (name, "S1", row.to_dict())
        assert row["ST_low"] <= st[j] <= row["ST_high"], (name, "ST", row.to_dict())
        assert row["S1_high"] - row["S1_low"] < 0.2 and row["ST_high"] - row["ST_low"] < 0.2
    # The same through the per-strategy entry point used by rank and the report.
    assert sensitivity(tmp_path / "sobol", kpi="y").method == "sobol"


def test_intervals_cover_the_truth_across_seeds():
    """Coverage of the 95% bootstrap intervals over 20 independent Saltelli samples (N = 512)."""
    from SALib.sample import sobol as sobol_sample
    from SALib.test_functions import Ishigami

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    s1, st = analytic_indices()
    covered = np.zeros(6)
    for seed in range(20):
        x = sobol_sample.sample(problem, 512, calc_second_order=False, seed=seed)
        table = sobol_from_outputs(Ishigami.evaluate(x), problem["names"], resamples=500, seed=seed)
        covered[:3] += (table["S1_low"] <= s1) & (s1 <= table["S1_high"])
        covered[3:] += (table["ST_low"] <= st) & (st <= table["ST_high"])
    assert (covered >= 15).all(), covered  # >= 75% of 20 for each index (95% nominal)


def test_sobol_needs_the_sobol_design(tmp_path):
    scenario = twinworld.load_scenario({**ishigami_scenario(8), "sweep": {"scenarios": 20, "design": "lhs"}},
                                       registry=ishigami_registry())
    twinworld.sweep(scenario, tmp_path / "lhs", twinworld.SweepOptions(progress=False),
                    executor=twinworld.ExecutorOptions(kind="inprocess"))
    with pytest.raises(SweepError, match="need a sweep with the sobol design"):
        sobol_indices(tmp_path / "lhs", strategy="baseline", kpi="y")
    scores = sensitivity(tmp_path / "lhs", kpi="y")
    assert scores.method == "extra_trees" and set(scores.summary().index) == {
        "param.f.x1", "param.f.x2", "param.f.x3"}

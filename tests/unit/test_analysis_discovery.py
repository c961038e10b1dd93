"""PRIM scenario discovery finds planted failure regions and says them in words."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.ranking_synthetic import synthetic_runs
from twinworld.analysis import discover, prim
from twinworld.analysis.discovery import split_blocks
from twinworld.analysis.results import as_results
from twinworld.errors import SweepError


def test_prim_recovers_a_planted_box():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"param.surge": rng.uniform(1, 2, 2000), "param.loss": rng.uniform(0, 0.5, 2000),
                          "param.noise": rng.uniform(0, 1, 2000)})
    failed = (frame["param.surge"] > 1.7) & (frame["param.loss"] > 0.3)
    boxes = prim(frame, failed.to_numpy())
    masses = [b.mass for b in boxes]
    assert masses == sorted(masses, reverse=True) and masses[0] == 1.0
    assert boxes[0].coverage == 1.0 and boxes[0].density == pytest.approx(failed.mean())
    best = max(boxes, key=lambda b: b.density * b.coverage)
    assert best.density > 0.95 and best.coverage > 0.9
    low_surge, _ = best.limits["param.surge"]
    low_loss, _ = best.limits["param.loss"]
    assert low_surge == pytest.approx(1.7, abs=0.03) and low_loss == pytest.approx(0.3, abs=0.02)


def test_discover_says_it_in_words():
    runs = synthetic_runs({"baseline": 12.0, "transfer": 10.0}, scenarios=400, seed=3,
                          fail_above={"transfer": 1.7})
    results = as_results(runs, directions={"cost": "minimize"})
    findings = {f.strategy: f for f in discover(results, failure="worst_decile", threshold=50)}
    t = findings["transfer"]
    assert t.box is not None and set(t.box.limits) == {"param.surge", "param.loss"}
    assert t.box.coverage >= 0.95 and t.box.density >= 0.95
    assert t.box.limits["param.surge"][0] == pytest.approx(1.7, abs=0.05)
    assert re.search(r"transfer fails when surge exceeds 1\.(69|7\d?) and loss exceeds 0\.2", t.text)
    assert "coverage" in t.text and "density" in t.text and "held-out" in t.text
    assert findings["baseline"].failures == 0 and "never fails" in findings["baseline"].text
    # The reported coverage and density are the held-out runs' own: recompute them from the data.
    assert t.significant and t.p_value < 1e-10
    held_out = ~split_blocks(runs.loc[runs["strategy"] == "transfer", "scenario_index"].to_numpy(),
                             share=0.5, seed=0, label="transfer")
    test_data = t.data[held_out]
    inside = t.box.contains(test_data)
    failed = test_data["failed"].to_numpy()
    assert t.test.inside == inside.sum() and t.test.inside_failed == (inside & failed).sum()
    assert t.test.density == pytest.approx(failed[inside].mean())
    assert t.test.coverage == pytest.approx((inside & failed).sum() / failed.sum())
    low, high = t.test.density_ci
    assert low <= t.test.density <= high and 0 < high - low < 0.3


def test_failure_modes():
    runs = synthetic_runs({"baseline": 12.0, "transfer": 10.0}, scenarios=200, seed=5,
                          fail_above={"transfer": 1.6})
    results = as_results(runs, directions={"cost": "minimize"})
    decile = {f.strategy: f for f in discover(results, failure="worst_decile")}
    # 10% of all runs are in the worst decile, shared between the strategies.
    assert decile["baseline"].failures + decile["transfer"].failures == pytest.approx(40, abs=1)
    regret = {f.strategy: f for f in discover(results, failure="regret", threshold=50)}
    assert regret["baseline"].failures == 0 and regret["transfer"].failures > 20
    assert "regret on cost > 50" in regret["transfer"].text
    with pytest.raises(SweepError, match="failure must be one of"):
        discover(results, failure="bad")

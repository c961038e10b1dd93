"""Designs: Latin hypercube strata, Monte Carlo prefix stability, factorial, CSV, run ids and seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twinworld
from tests.sweep_toy import toy_registry, toy_scenario
from twinworld.errors import SweepError
from twinworld.experiments import run
from twinworld.experiments.design import make_design, run_seed
from twinworld.experiments.executors import Chunk, Point, run_points
from twinworld.scenario.uncertain import uncertainties

REGISTRY = toy_registry()


def _scenario(**kwargs):
    return twinworld.load_scenario(toy_scenario(**kwargs), registry=REGISTRY)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 200), seed=st.integers(0, 2**31))
def test_lhs_uses_each_stratum_exactly_once(n: int, seed: int) -> None:
    scenario = _scenario(seed=seed)
    plan = make_design(scenario, kind="lhs", scenarios=n)
    # toy.load ~ uniform(0, 2): the quantile is load / 2; each of the n strata holds one sample.
    quantiles = plan.values[:, plan.parameters.index("toy.load")] / 2.0
    strata = np.floor(quantiles * n).astype(int)
    assert sorted(strata) == list(range(n))
    # shock.size ~ triangular(1, 1.5, 3): map back through the CDF and check the same.
    size = plan.values[:, plan.parameters.index("shock.size")]
    cdf = np.where(size < 1.5, (size - 1) ** 2 / (2 * 0.5), 1 - (3 - size) ** 2 / (2 * 1.5))
    assert sorted(np.minimum(np.floor(cdf * n + 1e-9), n - 1).astype(int)) == list(range(n))


def test_monte_carlo_sample_i_does_not_depend_on_the_sweep_size() -> None:
    scenario = _scenario()
    small = make_design(scenario, kind="mc", scenarios=10)
    large = make_design(scenario, kind="mc", scenarios=50)
    assert np.array_equal(small.values, large.values[:10])
    assert not np.array_equal(large.values[:10], large.values[10:20])
    lo, hi = large.values[:, 0].min(), large.values[:, 0].max()
    assert 0.0 <= lo < 0.3 and 1.7 < hi <= 2.0


def test_designs_are_deterministic_and_follow_the_seed() -> None:
    a = make_design(_scenario(seed=1), kind="lhs", scenarios=20)
    b = make_design(_scenario(seed=1), kind="lhs", scenarios=20)
    c = make_design(_scenario(seed=2), kind="lhs", scenarios=20)
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_factorial_combines_levels_and_holds_the_rest_at_the_median() -> None:
    scenario = _scenario()
    plan = make_design(scenario, kind="factorial", levels={"toy.load": [0.5, 1.0, 1.5]})
    assert plan.scenarios == 3
    assert list(plan.values[:, 0]) == [0.5, 1.0, 1.5]
    assert np.allclose(plan.values[:, 1], uncertainties(scenario)["shock.size"].ppf(0.5))
    both = make_design(scenario, kind="factorial",
                       levels={"toy.load": [0.5, 1.5], "shock.size": [1.0, 2.0, 3.0]})
    assert both.scenarios == 6
    assert {tuple(row) for row in both.values} == {(a, b) for a in (0.5, 1.5) for b in (1.0, 2.0, 3.0)}
    with pytest.raises(SweepError, match="toy.lod"):
        make_design(scenario, kind="factorial", levels={"toy.lod": [1.0]})


def test_csv_design_reads_one_sample_per_row(tmp_path: Path) -> None:
    csv = tmp_path / "points.csv"
    csv.write_text("param.toy.load,shock.size\n0.1,1.0\n1.9,2.5\n")
    plan = make_design(_scenario(), kind="csv", design_csv=csv)
    assert plan.values.tolist() == [[0.1, 1.0], [1.9, 2.5]]
    csv.write_text("toy.load,nonsense\n0.1,1\n")
    with pytest.raises(SweepError, match=r"'points.csv': column\(s\) \[2\] \(by position\) name no "
                                         r"uncertain parameter") as info:
        make_design(_scenario(), kind="csv", design_csv=csv)
    assert "nonsense" not in str(info.value)  # errors never quote the file


def test_run_ids_and_seeds_pair_strategies_and_ignore_the_sweep_size() -> None:
    plan = make_design(_scenario(), kind="mc", scenarios=3, replications=2)
    runs = list(plan.runs())
    assert len(runs) == plan.total_runs == 3 * 2 * 2
    ids = [r.run_id for r in runs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0] == "s000000-r00-baseline" and ids[1] == "s000000-r00-damp"
    by_point: dict[tuple[int, int], set[int]] = {}
    for r in runs:
        by_point.setdefault((r.scenario_index, r.replication), set()).add(r.seed)
    assert all(len(seeds) == 1 for seeds in by_point.values())  # common random numbers
    assert len({next(iter(s)) for s in by_point.values()}) == len(by_point)  # distinct per point
    bigger = make_design(_scenario(), kind="mc", scenarios=30, replications=5)
    assert {r.run_id: r.seed for r in bigger.runs() if r.run_id in ids} == {r.run_id: r.seed for r in runs}
    assert run_seed(11, 2, 1) == next(r.seed for r in runs if (r.scenario_index, r.replication) == (2, 1))


def test_a_sweep_row_is_reproduced_by_one_run_from_its_seed_and_values() -> None:
    scenario = _scenario()
    plan = make_design(scenario, kind="lhs", scenarios=4)
    spec = list(plan.runs())[5]
    point = Point(spec.scenario_index, spec.replication, spec.seed,
                  tuple(plan.values[spec.scenario_index]), ((spec.strategy, spec.run_id),))
    row = run_points(scenario, Chunk(1, (point,), plan.parameters))[0]
    again = run(scenario, spec.strategy, seed=row["seed"], values=plan.point(spec.scenario_index))
    assert row["status"] == "ok"
    assert {k: v for k, v in row.items() if k.startswith("kpi.")} == {f"kpi.{k}": v for k, v in again.kpis.items()}
    assert {k: v for k, v in row.items() if k.startswith("param.")} == {
        f"param.{k}": v for k, v in plan.point(spec.scenario_index).items()}

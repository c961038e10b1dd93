"""``rank`` on synthetic sweep folders in the results-store format."""

from __future__ import annotations

import math

import pytest

import twinworld
from tests.ranking_synthetic import synthetic_runs, write_sweep
from twinworld.analysis import RankOptions, load_results, rank
from twinworld.errors import SweepError

MEANS = {"baseline": 12.0, "a": 10.0, "b": 10.5, "c": 13.0}


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    runs = synthetic_runs(MEANS, scenarios=120, seed=4, fail_above={"a": 1.5})
    return write_sweep(tmp_path_factory.mktemp("sweep"), runs, ranking={
        "primary": "cost", "risk": "mean", "constraints": [{"kpi": "cost", "max": 40, "share": 0.9}]})


def test_load_results_reads_the_contract(sweep_dir):
    res = load_results(sweep_dir)
    assert res.strategies == list(MEANS)
    assert res.kpis == ["cost"] and res.direction("cost") == "minimize"
    assert res.parameters == ["param.surge", "param.loss"]
    assert (res.scenarios(), res.replications(), res.n_failed) == (120, 1, 0)
    assert res.ranking.constraints[0].max == 40


def test_rank_follows_the_ranking_section_and_constraints(sweep_dir):
    r = twinworld.rank(sweep_dir)
    # 'a' has the best mean outside its failure box but breaks the constraint; 'b' leads.
    assert r.primary == "cost" and r.risk == "mean"
    assert r.leader == "b" and r.separated
    assert list(r.table.index[:3]) == ["b", "baseline", "c"] and r.table.index[-1] == "a"
    assert not r.table.loc["a", "meets_constraints"]
    cons = r.constraints.set_index("strategy")
    runs = load_results(sweep_dir).runs
    share_a = float((runs.loc[runs.strategy == "a", "kpi.cost"] <= 40).mean())
    assert cons.loc["a", "rate"] == pytest.approx(share_a) and not cons.loc["a", "met"]
    assert cons.loc["b", "rate"] == 1.0 and cons.loc["b", "met"]
    assert "Recommend 'b'" in r.recommendation and "95% CI" in r.recommendation
    assert "better than every other candidate" in r.recommendation
    assert r.table.loc["b", "diff_vs_baseline"] < 0 and r.table.loc["b", "p_holm_vs_baseline"] < 0.05
    assert r.table.loc["b", "diff_vs_leader"] == 0.0
    assert r.pareto == ["b"]


def test_rank_overrides_and_risk_measures(sweep_dir):
    by_regret = rank(sweep_dir, RankOptions(risk="max_regret", constraints=[]))
    assert by_regret.risk_vs_leader is not None and by_regret.risk_label == "max regret"
    assert by_regret.table["score"].is_monotonic_increasing
    by_cvar = rank(sweep_dir, RankOptions(risk="cvar", cvar_alpha=0.8, constraints=[]))
    assert by_cvar.risk_label == "CVaR80"
    summary = by_cvar.summary.loc["cost"]
    assert by_cvar.table["score"].to_dict() == pytest.approx(summary["cvar"].to_dict())
    # Without the constraint, the best mean ('a' is cheapest outside its failure box) still loses
    # on CVaR: its worst 20% are the planted failures.
    assert by_cvar.leader == "b"
    with pytest.raises(SweepError, match="unknown risk measure"):
        rank(sweep_dir, RankOptions(risk="vibes"))
    with pytest.raises(SweepError, match="primary KPI 'nope'"):
        rank(sweep_dir, RankOptions(primary="nope"))


def test_maximize_flips_everything():
    runs = synthetic_runs({"baseline": 12.0, "hi": 14.0, "lo": 10.0}, scenarios=60, seed=2)
    r = rank(runs, RankOptions(discover_failures=False), directions={"cost": "maximize"})
    assert r.leader == "hi" and r.separated
    assert r.table.index.tolist() == ["hi", "baseline", "lo"]
    assert (r.summary.loc["cost"]["mean_regret"] >= 0).all()


def test_failed_runs_are_dropped_from_pairs_and_noted(tmp_path):
    runs = synthetic_runs({"baseline": 12.0, "x": 11.0}, scenarios=30, seed=1)
    broken = (runs.strategy == "x") & (runs.scenario_index < 3)
    runs.loc[broken, "status"] = "failed"
    runs.loc[broken, "error"] = "ZeroDivisionError"
    runs.loc[broken, "kpi.cost"] = math.nan
    r = rank(write_sweep(tmp_path, runs), RankOptions(constraints=[{"kpi": "cost", "max": 1000}]))
    assert r.table["n"].tolist() == [27, 27]
    assert any("3 run(s) failed" in n for n in r.notes)
    assert r.constraints.set_index("strategy").loc["x", "rate"] == pytest.approx(27 / 30)


def test_not_separated_is_said_plainly():
    runs = synthetic_runs({"baseline": 10.0, "twin": 10.0}, scenarios=30, seed=11, own_sd=2.0)
    r = rank(runs, RankOptions(discover_failures=False), directions={"cost": "minimize"})
    assert not r.separated
    assert "NOT separated" in r.recommendation and "--until-confident" in r.recommendation


def test_no_results_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SweepError, match="no results"):
        rank(tmp_path)


def test_exact_ties_are_called_ties_not_uncertainty():
    runs = synthetic_runs({"baseline": 10.0, "copy": 10.0, "worse": 12.0}, scenarios=20, seed=3,
                          own_sd=0.0)
    r = rank(runs, RankOptions(discover_failures=False), directions={"cost": "minimize"})
    assert not r.separated and r.leader in ("baseline", "copy")
    assert "ties exactly with" in r.recommendation and "NOT separated" not in r.recommendation
    assert r.summary.loc["cost"].loc[["baseline", "copy"], "p_best"].tolist() == [0.5, 0.5]

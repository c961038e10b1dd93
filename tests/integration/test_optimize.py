"""``optimize`` on the toy system: common random numbers, resume, saving a strategy, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import twinworld
from tests.sweep_toy import toy_cli_env, toy_registry, toy_scenario
from twinworld.analysis.stats import cvar
from twinworld.experiments.store import ResultStore
from twinworld.optimize import EvaluationOptions, OptimizeError, OptimizeOptions, load_optimization, optimize
from twinworld.optimize.save import fresh_seed, save_strategy

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = toy_registry()
LEVERS = {"strategy": "damp",
          "vary": {"factor": {"field": "toy.damp.factor", "range": [0.1, 1.0], "step": 0.05}},
          "objectives": [{"kpi": "cost", "risk": "cvar"}, {"kpi": "served", "risk": "mean"}],
          "search": {"scenarios": 8, "population": 6, "generations": 3, "validation_scenarios": 12}}
INPROCESS = OptimizeOptions(evaluation=EvaluationOptions(executor="inprocess", progress=False), progress=False)


def _scenario(**search) -> dict:
    data = toy_scenario(scenarios=5)
    data["levers"] = {**LEVERS, "search": {**LEVERS["search"], **search}}
    return data


def _load(data: dict):
    return twinworld.load_scenario(data, registry=REGISTRY)


def test_every_candidate_faces_the_same_scenarios_and_scores_as_computed(tmp_path):
    result = optimize(_load(_scenario()), tmp_path / "opt", options=INPROCESS)
    runs = pd.concat([ResultStore(f).load() for f in sorted((tmp_path / "opt" / "evaluations").iterdir())])
    assert set(result.candidates.index) <= set(runs["strategy"])
    blocks = {name: tuple(map(tuple, group.sort_values("scenario_index")[
        ["scenario_index", "seed", "param.toy.load", "param.shock.size"]].to_numpy()))
        for name, group in runs.groupby("strategy")}
    assert len(set(blocks.values())) == 1  # same samples and run seeds for every candidate (CRN)
    assert len(next(iter(blocks.values()))) == 8
    for key, row in result.candidates.iterrows():
        own = runs[runs["strategy"] == key].sort_values("scenario_index")
        assert row["cost CVaR90"] == cvar(own["kpi.cost"].to_numpy(), 0.9, "minimize")
        assert row["served mean"] == own["kpi.served"].mean()
    # The named template starts the search: its factor (0.5) is in the first generation.
    first = result.candidates[result.candidates["generation"] == 1]
    assert 0.5 in first["factor"].tolist() and len(first) == 6
    # The reference holds the named strategies on the same samples.
    assert list(result.reference.index) == ["baseline", "damp"]
    # No candidate on the front is beaten on both objectives by any candidate.
    signed = np.column_stack([result.candidates["cost CVaR90"], -result.candidates["served mean"]])
    for key in result.pareto.index:
        mine = signed[result.candidates.index.get_loc(key)]
        assert not ((signed <= mine).all(axis=1) & (signed < mine).any(axis=1)).any()
    assert (tmp_path / "opt" / "pareto.csv").exists() and (tmp_path / "opt" / "candidates.parquet").exists()


def test_rerun_resumes_without_recomputing_and_more_generations_continue(tmp_path):
    first = optimize(_load(_scenario()), tmp_path / "opt", options=INPROCESS)
    assert first.computed_runs == 8 * first.evaluations
    again = optimize(_load(_scenario()), tmp_path / "opt", options=INPROCESS)
    assert again.computed_runs == 0
    pd.testing.assert_frame_equal(again.candidates, first.candidates)
    longer = optimize(_load(_scenario(generations=5)), tmp_path / "opt", options=INPROCESS)
    assert longer.computed_runs == 8 * (longer.evaluations - first.evaluations)
    fresh = optimize(_load(_scenario(generations=5)), tmp_path / "fresh", options=INPROCESS)
    pd.testing.assert_frame_equal(longer.candidates, fresh.candidates)  # the same search, replayed
    loaded = load_optimization(tmp_path / "opt")
    pd.testing.assert_frame_equal(loaded.pareto, longer.pareto)


@pytest.mark.parametrize("objectives, algorithm", [
    (["cost:mean"], "GA"),
    (["cost:mean", "cost:cvar", "cost:p90", "served:mean"], "NSGA3")])
def test_one_objective_and_many_objectives(tmp_path, objectives, algorithm, monkeypatch):
    from twinworld.optimize import search

    used = []
    original = search._algorithm
    monkeypatch.setattr(search, "_algorithm", lambda *a: used.append(original(*a)) or used[-1])
    options = OptimizeOptions(evaluation=INPROCESS.evaluation, objectives=tuple(objectives), progress=False)
    result = optimize(_load(_scenario()), tmp_path / "opt", options=options)
    assert type(used[0]).__name__ == algorithm
    assert result.labels == [o.replace(":", " ").replace("cvar", "CVaR90") for o in objectives]
    if len(objectives) == 1:  # the front of one objective is its best candidate(s)
        best = result.candidates["cost mean"].min()
        assert (result.pareto["cost mean"] == best).all() and len(result.pareto) >= 1
        assert result.choose() in result.pareto.index


def test_the_same_search_whatever_the_executor(tmp_path):
    here = optimize(_load(_scenario(generations=1)), tmp_path / "inprocess", options=INPROCESS)
    dask = OptimizeOptions(evaluation=EvaluationOptions(executor="dask", workers=2, progress=False),
                           progress=False)
    there = optimize(_load(_scenario(generations=1)), tmp_path / "dask", options=dask)
    pd.testing.assert_frame_equal(here.candidates, there.candidates)
    pd.testing.assert_frame_equal(here.reference, there.reference)


def test_budget_below_one_generation_is_refused(tmp_path):
    with pytest.raises(OptimizeError, match="below one generation"):
        optimize(_load(_scenario(max_evaluations=3)), tmp_path / "opt", options=INPROCESS)


def test_a_folder_of_another_scenario_is_refused(tmp_path):
    optimize(_load(_scenario()), tmp_path / "opt", options=INPROCESS)
    other = _scenario()
    other["horizon"] = "2d"
    with pytest.raises(OptimizeError, match="different scenario or design"):
        optimize(_load(other), tmp_path / "opt", options=INPROCESS)


def test_save_strategy_keeps_the_file_and_ranks_on_fresh_scenarios(tmp_path):
    source = tmp_path / "toy.yaml"
    text = "# the toy, with a comment to keep\n" + yaml.safe_dump(_scenario(), sort_keys=False)
    source.write_text(text)
    scenario = twinworld.load_scenario(source, registry=REGISTRY)
    result = optimize(scenario, tmp_path / "opt", options=INPROCESS)
    saved = save_strategy(result, "tuned")
    assert saved.path == tmp_path / "toy.tuned.yaml"
    written = saved.path.read_text()
    assert written.startswith("# the toy, with a comment to keep\n")
    assert f"found by `twinworld optimize` ({saved.candidate}" in written
    loaded = twinworld.load_scenario(saved.path, registry=REGISTRY)
    assert loaded.strategies["tuned"]["toy"][0].factor == result.candidates.loc[saved.candidate, "factor"]
    assert list(loaded.strategies)[:2] == ["baseline", "damp"] and source.read_text() == text
    with pytest.raises(OptimizeError, match="exists"):
        save_strategy(result, "tuned")
    with pytest.raises(OptimizeError, match="already has a strategy 'damp'"):
        save_strategy(result, "damp", path=tmp_path / "x.yaml")
    with pytest.raises(OptimizeError, match="no candidate 'c-nope'"):
        save_strategy(result, "other", candidate="c-nope", path=tmp_path / "y.yaml")

    from twinworld.optimize.save import rank_on_fresh_scenarios
    ranking = rank_on_fresh_scenarios(saved.path, "tuned", tmp_path / "fresh", search_seed=scenario.seed,
                                      scenarios=12, options=INPROCESS.evaluation, registry=REGISTRY)
    assert set(ranking.table.index) == {"baseline", "damp", "tuned"}
    manifest = ranking.results.manifest
    assert manifest["seed"] == fresh_seed(scenario.seed, "tuned") != scenario.seed
    search_seeds = set(ResultStore(tmp_path / "opt" / "evaluations" / "reference").load()["seed"])
    assert not search_seeds & set(ranking.results.runs["seed"])  # no run seed reused
    assert "fresh sampled scenario" in " ".join(ranking.notes)


@pytest.fixture()
def toy_cli(tmp_path: Path) -> dict[str, str]:
    """Environment for ``python -m twinworld`` with the toy plugin installed as an entry point."""
    return toy_cli_env(tmp_path)


def _batches_done(folder: Path) -> int:
    return sum(1 for m in folder.glob("evaluations/g*/manifest.json") if '"complete": true' in m.read_text())


@pytest.mark.slow
def test_killed_optimize_resumes_to_the_uninterrupted_result(tmp_path, toy_cli):
    data = _scenario(generations=6)
    data["systems"]["toy"]["sleep_s"] = 0.01
    scenario_file = tmp_path / "toy.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "twinworld", "optimize", str(scenario_file), "--out", str(out),
            "--workers", "2", "--no-progress"]
    driver = subprocess.Popen(args, env=toy_cli, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _batches_done(out) < 2 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(10)
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    done_before = _batches_done(out)
    again = subprocess.run(args, env=toy_cli, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    resumed = load_optimization(out)
    uninterrupted = optimize(twinworld.load_scenario(scenario_file, registry=REGISTRY), tmp_path / "ref",
                             options=INPROCESS)
    pd.testing.assert_frame_equal(resumed.candidates, uninterrupted.candidates)
    words = again.stdout.replace("\n", " ")
    computed = int(words.split(" computed now")[0].split()[-1].replace(",", ""))
    assert done_before >= 2 and computed <= 8 * (uninterrupted.evaluations - 6 * 2)


def test_cli_errors_exit_2_without_traceback(tmp_path):
    from tests.helpers import run_cli

    done = run_cli("optimize", "scenarios/port_strike.yaml", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "has no levers: section" in done.stderr
    done = run_cli("optimize", "scenarios/hospital_surge.yaml", "--out", str(tmp_path / "o"),
                   "--objective", "patients_turned_away:worst")
    assert done.returncode == 2 and "write KPI:RISK" in done.stderr

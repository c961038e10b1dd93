"""Executors give identical results; dead workers and raising runs do not stop a sweep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import twinworld
from tests.sweep_toy import toy_registry, toy_scenario
from twinworld.experiments.executors import ExecutorOptions
from twinworld.experiments.sweep import SweepOptions
from twinworld.experiments.sweep import sweep as run_sweep

REGISTRY = toy_registry()
TIMING = ["wall_s"]

def sweep(*args, **kwargs) -> pd.DataFrame:
    """Run a sweep and read back its table (one row per run)."""
    return run_sweep(*args, **kwargs).table()



def _scenario(**kwargs):
    return twinworld.load_scenario(toy_scenario(**kwargs), registry=REGISTRY)


def _same(a: pd.DataFrame, b: pd.DataFrame, ignore: list[str] = TIMING) -> None:
    keep = [c for c in a.columns if c not in ignore]
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a[keep].reset_index(drop=True), b[keep].reset_index(drop=True))


def test_one_worker_two_workers_and_dask_give_identical_tables(tmp_path: Path) -> None:
    scenario = _scenario(scenarios=24, replications=2, fail_above=1.9)
    inproc = sweep(scenario, tmp_path / "inprocess", SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    one = sweep(scenario, tmp_path / "one", SweepOptions(progress=False), executor=ExecutorOptions(kind="local", workers=1))
    two = sweep(scenario, tmp_path / "two", SweepOptions(chunk_size=3, progress=False), executor=ExecutorOptions(kind="local", workers=2))
    dask = sweep(scenario, tmp_path / "dask", SweepOptions(progress=False), executor=ExecutorOptions(kind="dask", workers=2))
    assert len(inproc) == 24 * 2 * 2
    assert list(inproc["run_id"]) == sorted(inproc["run_id"])
    for other in (one, two, dask):
        _same(inproc, other)
    on_disk = pd.read_parquet(tmp_path / "dask" / "results")
    _same(inproc, on_disk.sort_values("run_id"))
    # strategies of one (sample, replication) share the seed and the sampled values
    paired = inproc.groupby(["scenario_index", "replication"])[["seed", "param.toy.load"]].nunique()
    assert (paired == 1).all().all()


def test_failures_are_rows_with_the_error_and_the_rest_completes(tmp_path: Path) -> None:
    scenario = _scenario(scenarios=40, fail_above=1.5)
    results = sweep(scenario, tmp_path / "out", SweepOptions(max_retries=1, progress=False),
                    executor=ExecutorOptions(kind="local", workers=2))
    failed = results[results["status"] == "failed"]
    ok = results[results["status"] == "ok"]
    assert len(results) == 80
    assert (failed["param.toy.load"] > 1.5).all() and (ok["param.toy.load"] <= 1.5).all()
    assert len(failed) == 2 * (results.drop_duplicates("scenario_index")["param.toy.load"] > 1.5).sum() > 0
    assert failed["error"].str.contains(r"ValueError: toy load .* is above 1.5").all()
    # a run that raises is deterministic: recorded as failed after one attempt, never retried
    assert (failed["attempts"] == 1).all() and (ok["attempts"] == 1).all()
    assert failed["kpi.cost"].isna().all() and ok["kpi.cost"].notna().all()
    assert (ok["error"] == "").all()


def test_a_local_worker_that_dies_is_replaced_and_its_runs_retried(tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    scenario = _scenario(scenarios=30, crash_marker=str(marker))
    results = sweep(scenario, tmp_path / "out", SweepOptions(progress=False), executor=ExecutorOptions(kind="local", workers=2))
    assert marker.exists()  # a worker process really was SIGKILLed
    assert len(results) == 60 and (results["status"] == "ok").all()
    assert results["run_id"].is_unique
    reference = sweep(_scenario(scenarios=30, crash_marker=str(marker)), tmp_path / "ref", SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    _same(reference, results, ignore=["wall_s", "attempts"])


def test_a_dask_worker_that_dies_mid_run_is_retried_elsewhere(tmp_path: Path) -> None:
    from distributed import LocalCluster

    marker = tmp_path / "crashed"
    scenario = _scenario(scenarios=20, crash_marker=str(marker))
    # an existing scheduler, as with --scheduler tcp://HOST:PORT
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        results = sweep(scenario, tmp_path / "out", SweepOptions(progress=False), executor=ExecutorOptions(kind="dask", scheduler=address))
    crashed_pid = int(marker.read_text())
    assert crashed_pid > 0
    assert len(results) == 40 and (results["status"] == "ok").all()
    assert results["run_id"].is_unique
    reference = sweep(scenario, tmp_path / "ref", SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    _same(reference, results, ignore=["wall_s", "attempts"])


def test_heavy_static_inputs_are_built_once_per_worker_process(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    scenario = _scenario(scenarios=60, static_log=str(log))
    results = sweep(scenario, tmp_path / "out", SweepOptions(chunk_size=4, progress=False), executor=ExecutorOptions(kind="local", workers=2))
    assert len(results) == 120 and (results["status"] == "ok").all()
    builders = log.read_text().split()
    assert 1 <= len(builders) <= 2 and len(set(builders)) == len(builders)  # once per process


def test_unknown_executor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(twinworld.TwinworldError, match="unknown executor 'ray'.*inprocess, local, dask, slurm"):
        sweep(_scenario(), tmp_path / "out", SweepOptions(progress=False), executor=ExecutorOptions(kind="ray"))


def test_a_driver_with_threads_running_uses_forkserver_workers_and_gets_the_same_table(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # Jupyter kernels run threads; forking a threaded process may deadlock, so workers then come
    # from a forkserver and import the plugins by module name.
    import threading

    from twinworld.experiments.executors import _context

    scenario = _scenario(scenarios=10)
    reference = sweep(scenario, tmp_path / "ref", SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        assert _context().get_start_method() in ("forkserver", "spawn")
        threaded = sweep(scenario, tmp_path / "threaded", SweepOptions(progress=True), executor=ExecutorOptions(kind="local", workers=2))
    finally:
        stop.set()
    _same(reference, threaded)
    assert "20/20" in capsys.readouterr().err  # the progress bar (on stderr): done/total

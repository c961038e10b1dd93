"""Resume: a sweep driver killed with SIGKILL, run again, ends identical to an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import twinworld
from tests.sweep_toy import toy_cli_env, toy_registry, toy_scenario
from twinworld.errors import SweepError
from twinworld.experiments.executors import ExecutorOptions
from twinworld.experiments.store import ResultStore
from twinworld.experiments.sweep import SweepOptions, sweep

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = toy_registry()


@pytest.fixture()
def toy_cli(tmp_path: Path) -> dict[str, str]:
    """Environment for ``python -m twinworld`` with the toy plugin installed as an entry point."""
    return toy_cli_env(tmp_path)


def _cli(env: dict[str, str], *args: str) -> list[str]:
    return [sys.executable, "-m", "twinworld", "sweep", *args]


def _rows_on_disk(folder: Path) -> int:
    store_parts = sorted((folder / "results").glob("part-*.parquet"))
    return sum(len(pd.read_parquet(p, columns=["run_id"])) for p in store_parts)


def test_sigkilled_driver_resumes_to_the_uninterrupted_result(tmp_path: Path, toy_cli: dict) -> None:
    scenario_file = tmp_path / "toy.yaml"
    scenario_file.write_text(yaml.safe_dump(toy_scenario(scenarios=150, sleep_s=0.02, fail_above=1.9)))
    out = tmp_path / "killed"
    args = _cli(toy_cli, str(scenario_file), "--out", str(out), "--workers", "2", "--chunk-size", "4",
                "--no-progress")
    driver = subprocess.Popen(args, env=toy_cli, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _safe_rows(out) < 40 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(10)
    finally:
        _kill_group(driver.pid)
    partial = _rows_on_disk(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert 40 <= partial < 300 and manifest["complete"] is False

    again = subprocess.run(args, env=toy_cli, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{300 - partial:,} computed now" in again.stdout.replace("\n", " ")
    resumed = pd.read_parquet(out / "results").sort_values("run_id").reset_index(drop=True)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert len(list((out / "results").glob("*.parquet"))) == 1  # compacted

    reference = sweep(twinworld.load_scenario(scenario_file, registry=REGISTRY), tmp_path / "ref",
                      SweepOptions(progress=False), executor=ExecutorOptions(workers=2)).table()
    assert resumed["run_id"].is_unique and len(resumed) == 300
    keep = [c for c in reference.columns if c not in ("wall_s", "attempts")]
    pd.testing.assert_frame_equal(resumed[keep], reference[keep])


def _safe_rows(folder: Path) -> int:
    try:
        return _rows_on_disk(folder)
    except (OSError, ValueError):
        return 0


def _kill_group(pid: int) -> None:
    """Remove anything the killed driver left behind (its worker processes share its session)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_rerun_computes_only_missing_runs_and_grows_mc_sweeps(tmp_path: Path) -> None:
    scenario = twinworld.load_scenario(toy_scenario(design="mc"), registry=REGISTRY)
    out = tmp_path / "out"
    inprocess = ExecutorOptions(kind="inprocess")
    first = sweep(scenario, out, SweepOptions(scenarios=5, strategies=["baseline"], progress=False),
                  executor=inprocess)
    assert first.computed == 5
    both = sweep(scenario, out, SweepOptions(scenarios=5, progress=False), executor=inprocess)
    assert both.computed == 5 and both.runs == 10 and len(both.table()) == 10
    grown = sweep(scenario, out, SweepOptions(scenarios=8, replications=2, progress=False), executor=inprocess)
    assert grown.computed == 8 * 2 * 2 - 10 and grown.runs == 32 and grown.complete
    fresh = sweep(scenario, tmp_path / "fresh", SweepOptions(scenarios=8, replications=2, progress=False),
                  executor=inprocess).table()
    keep = [c for c in fresh.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(grown.table()[keep], fresh[keep])
    again = sweep(scenario, out, SweepOptions(scenarios=8, replications=2, progress=False), executor=inprocess)
    assert again.computed == 0


def test_a_folder_of_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sweep(twinworld.load_scenario(toy_scenario(), registry=REGISTRY), out, SweepOptions(scenarios=4, progress=False),
          executor=ExecutorOptions(kind="inprocess"))
    with pytest.raises(SweepError, match="different scenario"):
        sweep(twinworld.load_scenario(toy_scenario(seed=99), registry=REGISTRY), out,
              SweepOptions(scenarios=4, progress=False), executor=ExecutorOptions(kind="inprocess"))
    with pytest.raises(SweepError, match="only Monte Carlo designs can grow"):
        sweep(twinworld.load_scenario(toy_scenario(), registry=REGISTRY), out,
              SweepOptions(scenarios=6, progress=False), executor=ExecutorOptions(kind="inprocess"))


def test_retry_failed_recomputes_only_failures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    scenario = twinworld.load_scenario(toy_scenario(scenarios=10, fail_above=1.0), registry=REGISTRY)
    first = sweep(scenario, out, SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    n_failed = int((first.table()["status"] == "failed").sum())
    assert 0 < n_failed < 20 and first.failed == n_failed
    again = sweep(scenario, out, SweepOptions(retry_failed=True, progress=False),
                  executor=ExecutorOptions(kind="inprocess"))
    assert again.computed == n_failed
    table = again.table()
    assert len(table) == 20 and table["run_id"].is_unique
    assert len(ResultStore(out).parts()) == 1

"""A small sweep through a real single-node Slurm via dask-jobqueue (CI starts Slurm: .ci/slurm_up.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import twinworld
from tests.sweep_toy import toy_registry, toy_scenario
from twinworld.experiments.executors import ExecutorOptions, SlurmOptions
from twinworld.experiments.sweep import SweepOptions
from twinworld.experiments.sweep import sweep as run_sweep


def sweep(*args, **kwargs) -> pd.DataFrame:
    """Run a sweep and read back its table (one row per run)."""
    return run_sweep(*args, **kwargs).table()



def _slurm_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and bool(probe.stdout.strip())


pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not _slurm_answers(), reason="no Slurm controller answers `sinfo` "
                                                    "(CI starts one with .ci/slurm_up.sh)"),
]


def test_sweep_on_slurm_matches_the_local_result(tmp_path: Path) -> None:
    scenario = twinworld.load_scenario(toy_scenario(scenarios=12, fail_above=1.8), registry=toy_registry())
    options = SlurmOptions(queue="debug", cores=2, processes=2, memory="4GB", walltime="00:10:00",
                           interface="lo")
    on_slurm = sweep(scenario, tmp_path / "slurm", SweepOptions(progress=False), executor=ExecutorOptions(kind="slurm", slurm=options))
    local = sweep(scenario, tmp_path / "local", SweepOptions(progress=False), executor=ExecutorOptions(kind="inprocess"))
    assert len(on_slurm) == 24 and set(on_slurm["status"]) == {"ok", "failed"}
    keep = [c for c in local.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(on_slurm[keep], local[keep])
    assert pd.read_json(tmp_path / "slurm" / "manifest.json", typ="series")["complete"]

"""`twinworld sweep` on the hospital scenario, and the results folder as analysts read it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.helpers import ROOT, run_cli
from twinworld.experiments.store import ResultStore

STRATEGIES = ["baseline", "surge_beds", "cancel_electives", "transfer", "combined"]


def test_cli_sweep_of_the_hospital_scenario_writes_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "surge"
    result = run_cli("sweep", "scenarios/hospital_surge.yaml", "--out", str(out), "--scenarios", "3",
                     "--workers", "2", "--design", "mc")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "15 run(s)" in result.stdout and "none failed" in result.stdout

    frame = pd.read_parquet(out / "results")
    assert len(frame) == 15 and (frame["status"] == "ok").all()
    assert list(frame.columns[:9]) == ["run_id", "scenario_index", "replication", "strategy", "seed",
                                       "status", "error", "attempts", "wall_s"]
    assert "param.flu_wave.multiplier" in frame and "kpi.patients_turned_away" in frame
    assert set(frame["strategy"]) == set(STRATEGIES)
    assert str(frame["kpi.patients_turned_away"].dtype) == "float64"
    assert str(frame["seed"].dtype) == "int64"

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["twinworld_results"] == 1 and manifest["complete"] is True
    assert manifest["scenarios"] == 3 and manifest["replications"] == 1 and manifest["design"] == "mc"
    assert manifest["strategies"] == STRATEGIES
    assert manifest["parameters"][0] == "flu_wave.start" and len(manifest["parameters"]) == 8
    assert manifest["kpis"]["patients_turned_away"] == {
        "direction": "minimize", "unit": "patients", "system": "hospitals", "kpi": "patients_turned_away",
        "description": "diverted out of the region after the maximum wait"}
    assert manifest["ranking"]["primary"] == "patients_turned_away"
    assert manifest["scenario_file"].endswith("hospital_surge.yaml")
    assert (out / "scenario.yaml").read_text() == (ROOT / "scenarios/hospital_surge.yaml").read_text()

    counts = duckdb.sql(f"SELECT strategy, count(*) AS n, avg(\"kpi.patients_turned_away\") AS mean "
                        f"FROM read_parquet('{out}/results/*.parquet') GROUP BY strategy").df()
    assert sorted(counts["strategy"]) == sorted(STRATEGIES) and (counts["n"] == 3).all()

    rerun = run_cli("sweep", "scenarios/hospital_surge.yaml", "--out", str(out), "--scenarios", "3",
                    "--design", "mc")
    assert rerun.returncode == 0 and "0 computed now" in rerun.stdout


def test_cli_sweep_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    bad = run_cli("sweep", "scenarios/hospital_surge.yaml", "--out", str(tmp_path / "x"),
                  "--executor", "ray")
    assert bad.returncode == 2 and "unknown executor 'ray'" in bad.stderr and "Traceback" not in bad.stderr
    strategy = run_cli("sweep", "scenarios/hospital_surge.yaml", "--out", str(tmp_path / "y"),
                       "--strategy", "teleport", "--scenarios", "1")
    assert strategy.returncode == 2 and "unknown strategy 'teleport'" in strategy.stderr


def test_an_interrupted_compaction_is_finished_when_the_folder_is_opened(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path / "out")
    writer = store.writer(["x"], ["cost"], batch_rows=3)
    rows = [{"run_id": f"s{i:06d}-r00-a", "scenario_index": i, "replication": 0, "strategy": "a",
             "seed": i, "status": "ok", "error": "", "attempts": 1, "wall_s": 0.0, "param.x": float(i),
             "kpi.cost": float(i * i)} for i in range(10)]
    backwards = rows[::-1]
    for start in range(0, 10, 3):  # written out of order, in batches of 3
        writer.add(backwards[start:start + 3])
    writer.flush()
    assert len(store.parts()) == 4

    def crash(self, plan):  # the driver dies after staging the compacted files
        raise KeyboardInterrupt

    monkeypatch.setattr(ResultStore, "_finish_compaction", crash)
    with pytest.raises(KeyboardInterrupt):
        store.compact()
    monkeypatch.undo()
    assert (tmp_path / "out" / ".compact" / "plan.json").exists()
    store.close()  # what the operating system does when the crashed driver's process ends
    reopened = ResultStore(tmp_path / "out")
    assert len(reopened.parts()) == 1 and not (tmp_path / "out" / ".compact").exists()
    frame = pd.read_parquet(tmp_path / "out" / "results")
    assert list(frame["run_id"]) == sorted(r["run_id"] for r in rows)
    assert frame["kpi.cost"].tolist() == [float(i * i) for i in range(10)]

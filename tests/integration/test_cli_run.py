"""`twinworld run` and `validate` on the default scenario, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.helpers import run_cli


def test_run_all_strategies_writes_csv_and_parquet(tmp_path: Path) -> None:
    result = run_cli("run", "scenarios/hospital_surge.yaml", "--strategy", "all", "--seed", "3",
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for strategy in ["baseline", "surge_beds", "cancel_electives", "transfer", "combined"]:
        assert strategy in result.stdout
    csv = pd.read_csv(tmp_path / "kpis.csv")
    parquet = pd.read_parquet(tmp_path / "kpis.parquet")
    assert list(csv["strategy"]) == ["baseline", "surge_beds", "cancel_electives", "transfer", "combined"]
    assert (csv["kpi.patients_turned_away"].to_numpy() == parquet["kpi.patients_turned_away"].to_numpy()).all()
    assert csv["param.flu_wave.multiplier"].nunique() == 1  # every strategy faced the same sample
    assert (tmp_path / "transfer.hospitals.hospitals.csv").exists()


def test_run_one_strategy_and_unknown_strategy() -> None:
    ok = run_cli("run", "scenarios/hospital_surge.yaml", "--strategy", "transfer")
    assert ok.returncode == 0 and "transfer" in ok.stdout and "baseline" not in ok.stdout.split("KPI")[-1]
    bad = run_cli("run", "scenarios/hospital_surge.yaml", "--strategy", "teleport")
    assert bad.returncode == 2
    assert "unknown strategy 'teleport'" in bad.stderr and "Traceback" not in bad.stderr


def test_validate_summarises() -> None:
    result = run_cli("validate", "scenarios/hospital_surge.yaml")
    assert result.returncode == 0
    assert "8 uncertain parameter(s)" in result.stdout

"""A results folder stays whole: one writer at a time, damaged parts set aside and recomputed,
read-only and full folders refused in one line without losing a finished run.

The sweeps are real ``python -m twinworld sweep`` processes on the test-only ``toy`` system
(installed as an entry point for the child processes, as in ``test_sweep_resume``).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from tests.sweep_toy import toy_cli_env, toy_scenario

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = 2  # the toy scenario's baseline and damp


@pytest.fixture()
def toy_env(tmp_path: Path) -> dict[str, str]:
    """Environment for ``python -m twinworld`` with the toy plugin installed as an entry point."""
    return toy_cli_env(tmp_path)


def _scenario(tmp_path: Path, **options) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_scenario(**options)))
    return path


def _sweep_args(scenario: Path, out: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "twinworld", "sweep", str(scenario), "--out", str(out),
            "--no-progress", *more]


def _sweep(env: dict[str, str], scenario: Path, out: Path, *more: str, limits=None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(_sweep_args(scenario, out, *more), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limits, check=False)


def _dataset(out: Path) -> pd.DataFrame:
    parts = sorted((out / "results").glob("part-*.parquet"))
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return frame.sort_values("run_id", ignore_index=True)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_two_concurrent_sweeps_never_lose_or_duplicate_a_run(tmp_path: Path, toy_env: dict) -> None:
    scenario = _scenario(tmp_path, scenarios=60, sleep_s=0.2)  # ~6 s on two workers
    out = tmp_path / "out"
    first = subprocess.Popen(_sweep_args(scenario, out, "--workers", "2", "--chunk-size", "4"),
                             env=toy_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "manifest.json").exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # the manifest is written once the first sweep holds the folder
        assert first.poll() is None, first.communicate()[1][-3000:]
        second = _sweep(toy_env, scenario, out, "--workers", "1")
        assert first.poll() is None, "the sweeps did not overlap; make the first one longer"
        line = _one_error_line(second)
        assert second.returncode == 2
        assert f"is being written by another sweep (pid {first.pid} on " in line
        _, first_err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, first_err[-3000:]
    frame = _dataset(out)
    assert frame["run_id"].is_unique and len(frame) == 60 * STRATEGIES
    again = _sweep(toy_env, scenario, out, "--workers", "1")
    assert again.returncode == 0 and "(0 computed now" in again.stdout
    pd.testing.assert_frame_equal(_dataset(out), frame)


def test_a_damaged_part_is_set_aside_and_its_runs_recomputed(tmp_path: Path, toy_env: dict) -> None:
    scenario = _scenario(tmp_path, scenarios=20)
    out, reference = tmp_path / "out", tmp_path / "reference"
    assert _sweep(toy_env, scenario, reference, "--executor", "inprocess").returncode == 0
    expected = _dataset(reference)
    # the same results as two part files, as a sweep leaves them before compaction
    (out / "results").mkdir(parents=True)
    for name in ("manifest.json", "scenario.yaml"):
        (out / name).write_bytes((reference / name).read_bytes())
    table = pq.read_table(next((reference / "results").glob("part-*.parquet")))
    pq.write_table(table.slice(0, 16), out / "results" / "part-00000001.parquet")
    pq.write_table(table.slice(16), out / "results" / "part-00000002.parquet")
    damaged = out / "results" / "part-00000002.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])  # a torn copy

    for command in ("rank", "report"):
        refused = subprocess.run([sys.executable, "-m", "twinworld", command, str(out)], env=toy_env,
                                 cwd=tmp_path, capture_output=True, text=True, timeout=300,
                                 check=False)
        line = _one_error_line(refused)
        assert refused.returncode == 2 and f"{damaged}: damaged results file" in line

    resumed = _sweep(toy_env, scenario, out, "--executor", "inprocess")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"({len(table) - 16} computed now" in resumed.stdout
    assert "set aside damaged file quarantine/part-00000002.parquet" in resumed.stdout
    assert (out / "quarantine" / "part-00000002.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [q["file"] for q in manifest["quarantined"]] == ["quarantine/part-00000002.parquet"]
    got = _dataset(out)
    pd.testing.assert_frame_equal(got.drop(columns=["wall_s"]), expected.drop(columns=["wall_s"]))


def _read_only(folder: Path):
    """Make ``folder`` and what is inside it unwritable (chattr +i as root, chmod otherwise)."""
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", *map(str, folders)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot make a folder read-only as root here: {done.stderr.decode()[:200]}")
        return lambda: subprocess.run(["chattr", "-i", *map(str, folders)], check=True)
    for path in folders:
        path.chmod(0o555)
    return lambda: [path.chmod(0o755) for path in folders]


def test_a_read_only_results_folder_is_one_line_and_loses_nothing(tmp_path: Path, toy_env: dict) -> None:
    scenario = _scenario(tmp_path, scenarios=10, design="mc")
    out = tmp_path / "out"
    assert _sweep(toy_env, scenario, out, "--executor", "inprocess").returncode == 0
    before = _dataset(out)
    restore = _read_only(out)
    try:
        refused = _sweep(toy_env, scenario, out, "--executor", "inprocess", "--scenarios", "20")
    finally:
        restore()
    line = _one_error_line(refused)
    assert refused.returncode == 1
    assert line.startswith((f"error: cannot write {out}", f"error: cannot tidy {out}"))
    pd.testing.assert_frame_equal(_dataset(out), before)
    grown = _sweep(toy_env, scenario, out, "--executor", "inprocess", "--scenarios", "20")
    assert grown.returncode == 0 and "(20 computed now" in grown.stdout
    after = _dataset(out)
    assert after["run_id"].is_unique and len(after) == 20 * STRATEGIES
    merged = after.merge(before, on="run_id", suffixes=("", "_before"))
    assert len(merged) == len(before) and (merged["kpi.cost"] == merged["kpi.cost_before"]).all()


def _file_size_limit(limit_bytes: int):
    """preexec_fn: files the child writes may not grow beyond ``limit_bytes`` (a full disk)."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def test_a_full_disk_mid_sweep_is_one_line_and_keeps_every_saved_run(tmp_path: Path, toy_env: dict) -> None:
    scenario = _scenario(tmp_path, scenarios=10, design="mc")
    out = tmp_path / "out"
    assert _sweep(toy_env, scenario, out, "--executor", "inprocess").returncode == 0
    before = _dataset(out)
    # manifest and scenario fit; a part of 400 new rows does not
    full = _sweep(toy_env, scenario, out, "--executor", "inprocess", "--scenarios", "210",
                  limits=_file_size_limit(12_000))
    line = _one_error_line(full)
    assert full.returncode == 1
    assert f"error: cannot write {out / 'results'}/part-" in line and "File too large" in line
    assert "20 finished run(s) are saved" in line and "400 computed run(s) could not be saved" in line
    assert not list((out / "results").glob(".tmp-*")), "no half-written file is left behind"
    pd.testing.assert_frame_equal(_dataset(out), before)
    resumed = _sweep(toy_env, scenario, out, "--executor", "inprocess", "--scenarios", "210")
    assert resumed.returncode == 0 and "(400 computed now" in resumed.stdout
    assert _dataset(out)["run_id"].is_unique and len(_dataset(out)) == 210 * STRATEGIES


@pytest.mark.parametrize("command", ["sweep", "run"])
def test_out_pointing_at_a_file_is_one_line(command: str, tmp_path: Path, toy_env: dict) -> None:
    scenario = _scenario(tmp_path, scenarios=2)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("precious")
    args = [sys.executable, "-m", "twinworld", command, str(scenario), "--out", str(blocker)]
    result = subprocess.run(args, env=toy_env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    line = _one_error_line(result)
    assert result.returncode == 1 and str(blocker) in line and "a file is in the way" in line
    assert blocker.read_text() == "precious"


def test_schema_into_a_missing_folder_is_one_line(tmp_path: Path, toy_env: dict) -> None:
    target = tmp_path / "no" / "such" / "schema.json"
    result = subprocess.run([sys.executable, "-m", "twinworld", "schema", "--output", str(target)],
                            env=toy_env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    line = _one_error_line(result)
    assert result.returncode == 1
    assert line == f"error: cannot write {target}: its folder {target.parent} does not exist"


def test_a_design_csv_error_never_quotes_the_file(tmp_path: Path, toy_env: dict) -> None:
    scenario = tmp_path / "toy.yaml"
    data = toy_scenario(scenarios=2, design="csv")
    data["sweep"]["design_csv"] = "design.csv"
    scenario.write_text(yaml.safe_dump(data))
    secret = "root:x:0:0:root:/root:/bin/bash"
    (tmp_path / "design.csv").write_text(f"{secret}\n1\n")
    result = _sweep(toy_env, scenario, tmp_path / "out", "--executor", "inprocess")
    line = _one_error_line(result)
    assert result.returncode == 2 and "design CSV 'design.csv': column(s) [1]" in line
    assert "root" not in line.replace(str(tmp_path), "")

"""``twinworld rank --until-confident`` grows a real sweep through the sweep engine."""

from __future__ import annotations

import json

import pytest

import twinworld
from tests.helpers import ROOT, run_cli


@pytest.mark.slow
def test_until_confident_adds_replications_to_a_real_sweep(tmp_path):
    out = tmp_path / "sweep"
    twinworld.sweep(ROOT / "scenarios" / "hospital_surge.yaml", out, twinworld.SweepOptions(scenarios=3, replications=1, progress=False),
                    executor=twinworld.ExecutorOptions(kind="inprocess"))
    done = run_cli("rank", str(out), "--until-confident", "--budget", "30", "--risk", "mean",
                   timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    # 3 scenarios x 5 strategies = 15 runs per replication: one more replication fits in 30 runs.
    assert manifest["replications"] == 2 and manifest["complete"]
    said = " ".join(done.stdout.split())
    assert ("Separated: KN selected" in said) or ("NOT separated: the run budget is spent (30 runs of 30" in said)
    assert "6 paired observations per strategy" in said or "Separated" in said
    assert "Recommend '" in said
    ranked = twinworld.rank(out, twinworld.RankOptions(discover_failures=False))
    assert ranked.table["n"].min() == 6

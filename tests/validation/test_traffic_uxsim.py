"""twinworld's road model against UXsim (the peer on PyPI) on the same grid network and demand."""

from __future__ import annotations

import sys
import warnings

import pytest

from tests.helpers import ROOT

pytest.importorskip("uxsim")
sys.path.insert(0, str(ROOT / "benchmarks"))
from traffic_vs_uxsim import run_twinworld, run_uxsim  # noqa: E402


def _uxsim(n: int, flow: float) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return run_uxsim(n, flow, cpp=True)
        except Exception:  # a UXsim build without its C++ engine: the (slower) Python mode
            return run_uxsim(n, flow, cpp=False)


def test_grid_total_travel_time_and_completed_trips_within_10_percent_of_uxsim() -> None:
    n, flow = 5, 0.05  # 5 x 5 grid, 15,000 vehicles between opposite sides over 50 minutes
    peer = _uxsim(n, flow)
    ours = run_twinworld(n, flow)
    assert ours["trips"] == peer["trips"] == 15000
    assert ours["completed"] == pytest.approx(peer["completed"], rel=0.10)
    assert ours["ttt_veh_h"] == pytest.approx(peer["ttt_veh_h"], rel=0.10)
    assert ours["ttt_all_veh_h"] == pytest.approx(peer["ttt_all_veh_h"], rel=0.10)

"""The port's berth queue against queueing theory: Erlang C and Little's law.

With Poisson vessel arrivals, exponentially distributed TEU per call, no mooring time and a yard that
never fills, each of the ``c`` berths serves a call in an exponential time (TEU / crane rate), so the
anchorage is the queue of an M/M/c system. Independent replications give a 95% confidence interval
for the probability of waiting and the mean wait; Erlang C must lie inside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import ci95, erlang_c
from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario

C, LAM_PER_H, MEAN_SERVICE_H = 3, 0.6, 4.0          # offered load 2.4 erlangs, rho = 0.8
CRANE_MOVES_PER_H = 30.0                            # 1 crane x 30 moves/h x 1 TEU/move = 30 TEU/h






def berth_queue(horizon_h: float) -> dict:
    return {"twinworld": 1, "name": "M/M/3 berths", "horizon": horizon_h, "systems": {"port": {
        "kind": "port", "berths": C, "cranes_per_berth": 1, "crane_moves_per_h": CRANE_MOVES_PER_H,
        "teu_per_move": 1.0, "berth_setup": 0, "import_share": 0.0,
        "arrivals": {"kind": "poisson", "rate_per_day": LAM_PER_H * 24},
        "call_size": {"distribution": "exponential", "mean_teu": MEAN_SERVICE_H * CRANE_MOVES_PER_H}}}}


def replicate(horizon_h: float, reps: int, warmup_h: float):
    scenario = load_scenario(berth_queue(horizon_h))
    for seed in range(reps):
        world = build_world(scenario, "baseline", seed)
        world.run()
        port = world.systems["port"]
        settled = [v for v in port.vessels if v.arrived_h >= warmup_h and v.berthed_h is not None]
        yield port, np.array([v.berthed_h - v.arrived_h for v in settled]), world


def test_anchorage_wait_matches_erlang_c() -> None:
    p_wait, mean_wait = [], []
    for _, waits, _ in replicate(horizon_h=6000, reps=20, warmup_h=200):
        p_wait.append(float((waits > 1e-9).mean()))
        mean_wait.append(float(waits.mean()))
    load = LAM_PER_H * MEAN_SERVICE_H
    theory_p = erlang_c(C, load)
    theory_w = theory_p * MEAN_SERVICE_H / (C - load)
    assert theory_p == pytest.approx(0.6472, abs=1e-3)  # textbook value for c=3, a=2.4
    lo, hi = ci95(p_wait)
    assert lo <= theory_p <= hi, (theory_p, lo, hi)
    lo, hi = ci95(mean_wait)
    assert lo <= theory_w <= hi, (theory_w, lo, hi)


def test_littles_law_and_berth_occupancy() -> None:
    (port, waits, world), = replicate(horizon_h=20000, reps=1, warmup_h=0)
    arrived = len(port.vessels)
    mean_queue = port.anchorage_probe.area / world.horizon_h                  # L_q
    all_waits = [((v.berthed_h if v.berthed_h is not None else world.horizon_h) - v.arrived_h)
                 for v in port.vessels]
    assert mean_queue == pytest.approx(arrived / world.horizon_h * np.mean(all_waits), rel=0.01)
    # Busy berths on average = lambda * E[service]: occupancy = rho.
    kpis = port.kpis()
    assert kpis["berth_occupancy"] == pytest.approx(LAM_PER_H * MEAN_SERVICE_H / C, rel=0.03)
    # Throughput: every arriving TEU is moved (stable queue), lambda * E[TEU] per hour.
    assert kpis["throughput_teu_per_day"] == pytest.approx(
        LAM_PER_H * MEAN_SERVICE_H * CRANE_MOVES_PER_H * 24, rel=0.03)

"""The hospital model against queueing theory: Erlang C, Erlang B and Little's law.

One hospital with Poisson arrivals, exponential stays and c beds is an M/M/c queue (patients wait
for ever) or an M/M/c/c loss system (no waiting room). Each check uses independent replications and
asserts that the theoretical value lies inside their 95% confidence interval.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import ci95, erlang_b, erlang_c, one_hospital
from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario


def replicate(scenario_data: dict, reps: int):
    scenario = load_scenario(scenario_data)
    for seed in range(reps):
        world = build_world(scenario, "baseline", seed)
        world.run()
        yield world.systems["h"], world


C, LAM, MEAN_LOS = 10, 8.0, 1.0   # 10 beds, 8 arrivals/h, 1 h stays: load 8 erlangs, rho 0.8


def test_erlang_c_probability_of_waiting_and_mean_wait() -> None:
    p_wait, mean_wait = [], []
    data = one_hospital(beds=C, arrivals_per_h=LAM, los_h=MEAN_LOS, max_wait=None, horizon_h=1500, census=8)
    for region, _ in replicate(data, 20):
        waits = np.asarray(region.waits)
        p_wait.append(float((waits > 0).mean()))
        mean_wait.append(float(waits.mean()))
    theory_p = erlang_c(C, LAM * MEAN_LOS)
    theory_w = theory_p / (C / MEAN_LOS - LAM)
    lo, hi = ci95(p_wait)
    assert lo <= theory_p <= hi, (theory_p, lo, hi)
    lo, hi = ci95(mean_wait)
    assert lo <= theory_w <= hi, (theory_w, lo, hi)
    assert theory_p == pytest.approx(0.409, abs=1e-3)  # the textbook value for c=10, a=8


def test_erlang_b_share_turned_away() -> None:
    shares = []
    data = one_hospital(beds=C, arrivals_per_h=LAM, los_h=MEAN_LOS, max_wait="0h", horizon_h=1500, census=7)
    for region, _ in replicate(data, 20):
        shares.append(region.kpis()["share_turned_away"])
    theory = erlang_b(C, LAM * MEAN_LOS)
    lo, hi = ci95(shares)
    assert lo <= theory <= hi, (theory, lo, hi)
    assert theory == pytest.approx(0.1217, abs=1e-3)


def test_littles_law_for_the_boarding_queue_and_the_beds() -> None:
    data = one_hospital(beds=C, arrivals_per_h=LAM, los_h=MEAN_LOS, max_wait=None, horizon_h=3000, census=8)
    (region, world), = replicate(data, 1)
    hospital = region.hospitals["H"]
    arrival_rate = hospital.counts["arrived"] / world.horizon_h
    mean_queue = region.waiting_probe.area / world.horizon_h        # L_q
    mean_wait = float(np.mean(region.waits))                        # W_q
    assert mean_queue == pytest.approx(arrival_rate * mean_wait, rel=0.02)
    mean_in_beds = region.occupied_probe.area / world.horizon_h     # L_s
    assert mean_in_beds == pytest.approx(LAM * MEAN_LOS, rel=0.03)  # lambda * E[stay]

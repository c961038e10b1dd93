"""The particle filter against the exact posterior, and its parts against their definitions.

Oracle: a hospital whose admissions per hour are Poisson(theta / 24), theta = arrivals per day with
a uniform prior on [a, b]. After S admissions in n hours the posterior is a Gamma(S + 1, rate n/24)
truncated to [a, b] (conjugacy), whose quantiles scipy gives exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from twinworld.params import Choice, LogNormal, Normal, Triangular, Uniform
from twinworld.scenario import load_scenario
from twinworld.twin.calibrate import Calibrator, FilterOptions
from twinworld.twin.likelihood import Obs
from twinworld.twin.particles import ParticleSet, systematic, vector_ppf

LOW, HIGH = 40.0, 120.0


def scenario():
    return load_scenario({
        "twinworld": 1, "name": "one hospital", "horizon": "3d",
        "systems": {"h": {"kind": "hospital_region", "hospitals": [
            {"name": "H", "ward_beds": 500, "arrivals_per_day": {"uniform": [LOW, HIGH]}}]}}})


def exact_quantiles(total: int, hours: float, q: np.ndarray) -> np.ndarray:
    gamma = stats.gamma(a=total + 1, scale=24.0 / hours)
    lo, hi = gamma.cdf(LOW), gamma.cdf(HIGH)
    return gamma.ppf(lo + q * (hi - lo))


def hourly(counts: np.ndarray, start_h: float = 0.0) -> Obs:
    n = counts.size
    return Obs(start_h + np.arange(n, dtype=float), start_h + np.arange(1, n + 1, dtype=float),
               np.zeros(n, dtype=int), counts.astype(float))


Q = np.array([0.05, 0.5, 0.95])


def test_importance_weights_give_the_exact_posterior() -> None:
    counts = np.random.default_rng(3).poisson(76.0 / 24, 24)
    cal = Calibrator(scenario(), FilterOptions(particles=40_000, resample_below=1e-6, seed=1))
    report = cal.assimilate({"h": hourly(counts)}, 24.0)
    assert not report.resampled and report.observations == 24
    got = report.posterior["h.hospitals.H.arrivals_per_day"]
    want = exact_quantiles(int(counts.sum()), 24.0, Q)
    width = want[2] - want[0]
    assert abs(got["median"] - want[1]) < 0.02 * width
    assert abs(got["low"] - want[0]) < 0.04 * width and abs(got["high"] - want[2]) < 0.04 * width


def test_resampling_round_by_round_stays_close_to_the_exact_posterior() -> None:
    counts = np.random.default_rng(4).poisson(95.0 / 24, 48)
    cal = Calibrator(scenario(), FilterOptions(particles=5000, resample_below=0.9, seed=2))
    resamplings = 0
    for hour in range(48):
        report = cal.assimilate({"h": hourly(counts[hour:hour + 1], hour)}, hour + 1.0)
        resamplings += report.resampled
    assert resamplings >= 3                         # the ESS fell and the Liu-West move ran
    got = report.posterior["h.hospitals.H.arrivals_per_day"]
    want = exact_quantiles(int(counts.sum()), 48.0, Q)
    width = want[2] - want[0]
    assert abs(got["median"] - want[1]) < 0.05 * width
    assert abs((got["high"] - got["low"]) - width) < 0.12 * width


def test_a_parameter_nothing_observes_keeps_its_prior() -> None:
    cal = Calibrator(scenario(), FilterOptions(particles=4000, seed=5))
    report = cal.assimilate({}, 10.0)
    assert report.posterior == {}                    # nothing was calibrated
    prior = cal.summary(["h.hospitals.H.arrivals_per_day"])["h.hospitals.H.arrivals_per_day"]
    assert prior["median"] == pytest.approx(80.0, abs=2.0)
    assert prior["low"] == pytest.approx(44.0, abs=2.0) and prior["high"] == pytest.approx(116.0, abs=2.0)


def test_systematic_resampling_copies_each_particle_floor_or_ceil_of_n_w_times() -> None:
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(50))
    index = systematic(weights, 1000, rng)
    counts = np.bincount(index, minlength=50)
    assert counts.sum() == 1000
    assert np.all(counts >= np.floor(1000 * weights) - 1e-9) and np.all(counts <= np.ceil(1000 * weights) + 1e-9)


def test_ess_of_equal_and_of_degenerate_weights() -> None:
    rng = np.random.default_rng(0)
    particles = ParticleSet.from_prior({"x": Uniform(0, 1)}, 100, rng)
    assert particles.ess() == pytest.approx(100.0)
    particles.reweight(np.where(np.arange(100) == 7, 0.0, -np.inf))
    assert particles.ess() == pytest.approx(1.0)
    particles.reweight(np.full(100, -np.inf))         # nothing fits: back to equal weights
    assert particles.ess() == pytest.approx(100.0)


def test_liu_west_keeps_the_mean_and_covariance() -> None:
    rng = np.random.default_rng(8)
    particles = ParticleSet.from_prior({"a": Uniform(0, 1), "b": Uniform(0, 1)}, 20_000, rng)
    particles.z = particles.z @ np.array([[1.0, 0.6], [0.0, 0.8]]) + np.array([0.5, -1.0])
    before_mean, before_cov = particles.z.mean(axis=0), np.cov(particles.z, rowvar=False)
    particles.resample(rng, bandwidth=0.4)
    assert np.allclose(particles.z.mean(axis=0), before_mean, atol=0.03)
    assert np.allclose(np.cov(particles.z, rowvar=False), before_cov, atol=0.05)
    assert len(np.unique(particles.z[:, 0])) == particles.size     # duplicates spread out


_DISTS = st.one_of(
    st.tuples(st.floats(-100, 100), st.floats(0.001, 100)).map(lambda t: Uniform(t[0], t[0] + t[1])),
    st.tuples(st.floats(-100, 100), st.floats(0, 1), st.floats(0.001, 100)).map(
        lambda t: Triangular(t[0], t[0] + t[1] * t[2], t[0] + t[2])),
    st.tuples(st.floats(-100, 100), st.floats(0.01, 10)).map(lambda t: Normal(t[0], t[1], t[0] - 3, t[0] + 5)),
    st.tuples(st.floats(0.1, 100), st.floats(0.01, 50)).map(lambda t: LogNormal(t[0], t[1])),
    st.lists(st.floats(-10, 10), min_size=1, max_size=5).map(lambda v: Choice(tuple(v))),
    st.lists(st.floats(0.1, 5), min_size=3, max_size=3).map(lambda w: Choice((1.0, 2.0, 3.0), tuple(w))),
)


@settings(max_examples=200, deadline=None)
@given(_DISTS, st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_the_vectorised_ppf_is_the_scalar_ppf(dist, quantiles) -> None:
    u = np.clip(np.asarray(quantiles), 1e-12, 1 - 1e-12)
    assert np.allclose(vector_ppf(dist, u), [dist.ppf(float(x)) for x in u], rtol=1e-9, atol=1e-9)


def test_metropolis_moves_keep_a_posterior_pressed_against_a_prior_bound() -> None:
    """Arrivals near the prior's upper bound: the exact posterior is cut off at 120 and skewed. The
    resample-move filter must keep that shape (a mean-and-covariance kernel move would not)."""
    counts = np.random.default_rng(15).poisson(118.0 / 24, 48)
    cal = Calibrator(scenario(), FilterOptions(particles=4000, resample_below=0.9, seed=4))
    for hour in range(48):
        report = cal.assimilate({"h": hourly(counts[hour:hour + 1], hour)}, hour + 1.0)
    got = report.posterior["h.hospitals.H.arrivals_per_day"]
    want = exact_quantiles(int(counts.sum()), 48.0, Q)
    width = want[2] - want[0]
    assert want[2] > 118.0                                  # pressed against the bound
    assert abs(got["high"] - want[2]) < 0.05 * width and abs(got["low"] - want[0]) < 0.08 * width
    assert report.accepted is None or 0.05 < report.accepted < 0.9

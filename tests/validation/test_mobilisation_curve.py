"""The emerging mobilisation (trip-generation) curve against the way evacuation studies build it.

Sources, and what is compared:

- NUREG/CR-7002, *Criteria for Development of Evacuation Time Estimate Studies* (Jones, Walton &
  Wolshon, Sandia/NRC, November 2011) asks evacuation time estimate (ETE) studies for a trip
  generation time distribution: the time from the order until the evacuee starts the trip,
  built from the distributions of the mobilisation activities (receiving the notification,
  preparing to leave). ETE studies written to it (e.g. KLD Engineering's Palo Verde ETE, 2012,
  section 5) define the trip generation distribution as the *sum* of the activity times and
  obtain it by convolving their distributions; the result is the S-shaped cumulative curve of
  their figures. That is our reading of those documents: we take no numbers from them. What we
  check is the construction: with households warned by one channel and preparing by a Rayleigh
  time, the departures that emerge from the agents must follow the convolution of the two
  distributions, computed here independently by numerical integration (Kolmogorov-Smirnov
  distance below the 1% critical value for 20,000 households), and be S-shaped.
- Warnings spreading by word of mouth: with an external source (a broadcast reaching everyone at
  rate p) and contacts telling each other at rate lambda, the share warned follows, in the mean
  field, the Bass (1969) diffusion curve F' = (p + q F)(1 - F) with q = lambda x contacts — the
  curve Rogers & Sorensen (1988, "Diffusion of emergency warnings", The Environmental
  Professional 10) used for warnings. On a network with ten contacts each the agents' curve must
  lie within 0.04 of it, and behind it (neighbours share contacts, so messages are wasted).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from tests.systems.test_households import box, grid
from twinworld import load_scenario
from twinworld.experiments.run import run

N = 20_000


def _households(behaviour: dict, horizon: str) -> dict:
    zone = {"name": "z", "households": N, "polygon": box(-0.5, -0.5, 4.5, 4.5)}
    data = grid(behaviour, horizon=horizon, zones=[zone])
    return run(load_scenario(data), "baseline", 3, tables=True).tables["roads.households"]


def test_departures_are_the_convolution_of_warning_and_preparation_times() -> None:
    rate_per_h, mean_prep_h = 3.0, 0.75            # warning delay: exponential, mean 20 min
    table = _households({"channels": [{"name": "order", "delay": "20min"}], "epoch": "1min",
                         "preparation": {"curve": "rayleigh", "mean": "45min"}}, "6h")
    depart = np.sort(table["depart_h"].to_numpy())
    assert np.isfinite(depart).all()
    sigma = mean_prep_h / math.sqrt(math.pi / 2)

    def convolution_cdf(t: float) -> float:
        if t <= 0:
            return 0.0
        def density(s: float) -> float:     # warned at s, ready by t - s
            return rate_per_h * math.exp(-rate_per_h * s) * (1.0 - math.exp(-(t - s) ** 2 / (2 * sigma**2)))

        return integrate.quad(density, 0.0, t)[0]

    expected = np.array([convolution_cdf(t) for t in depart])
    rank = np.arange(N)
    ks = max(np.abs((rank + 1) / N - expected).max(), np.abs(rank / N - expected).max())
    assert ks < 1.63 / math.sqrt(N), f"KS distance {ks:.4f}"
    # S-shaped: departures per 10 min rise to one peak and fall again (convex, then concave)
    counts = np.histogram(depart, bins=np.arange(0.0, 4.0 + 1e-9, 1 / 6))[0]
    peak = int(np.argmax(counts))
    assert 0.4 <= peak / 6 <= 1.2
    smooth = np.convolve(counts, np.ones(3) / 3, mode="same")
    assert (np.diff(smooth[1:peak]) > -0.02 * counts.max()).all()
    assert (np.diff(smooth[peak + 1:-1]) < 0.02 * counts.max()).all()


def test_word_of_mouth_spreads_as_a_bass_diffusion() -> None:
    p_per_h, contacts, tell_per_h = 0.25, 10, 0.2     # broadcast mean 4 h; each contact told after 5 h on average
    table = _households({"channels": [{"name": "radio", "delay": "4h"}], "epoch": "1min",
                         "word_of_mouth": {"contacts": contacts, "rewire": 1.0, "share_telling": 1.0,
                                           "delay": "5h", "departure_weight": 0}}, "8h")
    warned = np.sort(table["warned_h"].to_numpy())
    q = tell_per_h * contacts
    times = np.linspace(0.0, 8.0, 321)
    bass = (1 - np.exp(-(p_per_h + q) * times)) / (1 + (q / p_per_h) * np.exp(-(p_per_h + q) * times))
    agents = np.searchsorted(warned, times, side="right") / N
    assert np.abs(agents - bass).max() < 0.04
    middle = (bass > 0.3) & (bass < 0.9)
    assert (agents[middle] <= bass[middle] + 0.005).all()       # behind the mean field, as on a network
    assert agents[times == 1.0][0] > 0.4                          # and far ahead of the broadcast alone (0.22)

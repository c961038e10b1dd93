"""Calibration rounds: weight the particles by what was observed since the last round.

A :class:`Calibrator` owns the :class:`~twinworld.twin.particles.ParticleSet` over every uncertain
parameter of the scenario and the observation models of its systems. Each round it takes the
observations made in ``(until_h, now_h]`` (scenario hours), multiplies each particle's weight by
their likelihood, moves the partly observed state (beds in use where no census came) to ``now_h``,
and resamples when the effective sample size has fallen below ``resample_below`` of the particles.
Parameters no observation bears on keep their prior; the summary names the ones that were
calibrated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinworld.scenario.uncertain import uncertainties
from twinworld.systems.hospital.state import HospitalRegionState, HospitalState
from twinworld.twin.likelihood import HospitalAdmissions, Obs, ParamView, concat, observation_models
from twinworld.twin.particles import ParticleSet

__all__ = ["FilterOptions", "Calibrator", "RoundReport", "Census"]


@dataclass(frozen=True)
class FilterOptions:
    """The particle filter's settings.

    Parameters
    ----------
    particles
        How many particles (the likelihood is cheap: thousands are fine).
    resample_below
        Resample when the effective sample size falls below this share of the particles.
    move
        How resampled duplicates spread out: ``mh`` (Metropolis-Hastings moves on the likelihood of
        everything observed so far: the posterior is kept exactly) or ``liu-west`` (a kernel move
        that needs no likelihood but keeps only the posterior's mean and covariance).
    mh_steps
        Metropolis-Hastings moves per particle after each resampling.
    bandwidth
        Liu-West kernel bandwidth in standard-normal units (default: Silverman's rule, at most 0.5).
    level
        Credible level of the reported intervals.
    seed
        Seed of the filter's own random draws.
    """

    particles: int = 1000
    resample_below: float = 0.5
    move: str = "mh"
    mh_steps: int = 5
    bandwidth: float | None = None
    level: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        if self.particles < 2 or not 0 < self.resample_below <= 1 or not 0 < self.level < 1:
            raise ValueError("particles >= 2, 0 < resample_below <= 1 and 0 < level < 1")
        if self.move not in ("mh", "liu-west"):
            raise ValueError(f"move must be mh or liu-west; got {self.move!r}")


@dataclass(frozen=True)
class Census:
    """One hospital's latest reported beds in use and when (scenario hours)."""

    at_h: float
    ward: int
    icu: int


@dataclass
class RoundReport:
    """What one calibration round did."""

    until_h: float
    observations: int
    ess: float
    resampled: bool
    posterior: dict[str, dict[str, float]] = field(default_factory=dict)
    accepted: float | None = None   # share of Metropolis-Hastings moves accepted, if any ran
    used: int = 0          # stored messages looked at this round


class Calibrator:
    """The particle filter of a live twin over a scenario's uncertain parameters.

    Parameters
    ----------
    scenario
        The loaded scenario (its distributions are the prior).
    options
        Filter settings.
    """

    def __init__(self, scenario: Any, options: FilterOptions = FilterOptions()) -> None:
        self.scenario = scenario
        self.options = options
        self.uncertain = uncertainties(scenario)
        self.models = observation_models(scenario)
        self.rng = np.random.default_rng([options.seed, 0x5EED])
        self.particles = ParticleSet.from_prior(self.uncertain, options.particles, self.rng)
        self.until_h = 0.0
        self.informed: set[str] = set()
        self.seen: dict[str, list[Obs]] = {}
        for model in self.models.values():
            if isinstance(model, HospitalAdmissions):
                self.particles.states.update(model.initial_state(options.particles))

    def view(self) -> ParamView:
        return ParamView(self.particles.names, self.particles.values())

    def assimilate(self, observations: Mapping[str, Obs], now_h: float, *,
                   census: Mapping[str, Mapping[int, Census]] | None = None) -> RoundReport:
        """One round: reweight by ``observations`` (system -> its observations in ``(until_h, now_h]``),
        move the hospitals' unreported beds to ``now_h``, resample if the ESS is low."""
        view = self.view()
        log_lik = np.zeros(self.particles.size)
        count = 0
        for system, obs in observations.items():
            model = self.models.get(system)
            if model is None or obs.value.size == 0:
                continue
            log_lik += model.log_likelihood(view, obs)
            count += int(obs.value.size)
            self.seen.setdefault(system, []).append(obs)
        self.informed |= view.used
        self.particles.reweight(log_lik)
        self._move_beds(view, now_h, census or {})
        ess = self.particles.ess()
        resampled = ess < self.options.resample_below * self.particles.size
        accepted = None
        if resampled:
            mh = self.options.move == "mh"
            self.particles.resample(self.rng, bandwidth=self.options.bandwidth, liu_west=not mh)
            if mh:
                accepted = self.particles.move(self.log_target, self.rng, steps=self.options.mh_steps)
        self.until_h = max(self.until_h, now_h)
        return RoundReport(now_h, count, ess, resampled, self.summary(), accepted)

    def log_target(self, z: np.ndarray) -> np.ndarray:
        """Log posterior (up to a constant) at standard-normal points ``z``: the likelihood of
        everything observed so far plus the N(0, 1) prior of each coordinate."""
        from scipy.special import ndtr

        from twinworld.twin.likelihood import concat
        from twinworld.twin.particles import vector_ppf

        u = ndtr(z)
        values = np.column_stack([vector_ppf(d, u[:, j]) for j, d in enumerate(self.particles.dists)])
        view = ParamView(self.particles.names, values)
        total = -0.5 * np.sum(z * z, axis=1)
        for system, parts in self.seen.items():
            total += self.models[system].log_likelihood(view, concat(parts))
        return total

    def _move_beds(self, view: ParamView, now_h: float, census: Mapping[str, Mapping[int, Census]]) -> None:
        states = self.particles.states
        for system, model in self.models.items():
            if not isinstance(model, HospitalAdmissions):
                continue
            reported = census.get(system, {})
            for h in range(len(model.hospitals)):
                seen = reported.get(h)
                start = self.until_h
                if seen is not None and seen.at_h >= self.until_h:
                    states[f"{system}:ward"][:, h] = seen.ward
                    states[f"{system}:icu"][:, h] = seen.icu
                    start = seen.at_h
                model.propagate(view, states, h, start, now_h)

    def summary(self, names: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        """Posterior median, mean and credible interval of the calibrated parameters (or ``names``)."""
        wanted = sorted(self.informed) if names is None else list(names)
        return self.particles.summary(wanted, level=self.options.level)

    def draw(self, count: int, rng: np.random.Generator) -> tuple[list[dict[str, float]], np.ndarray]:
        """``count`` posterior draws: each one's parameter values, and the particle indices."""
        index = self.particles.draw(count, rng)
        values = self.particles.values()[index]
        return [dict(zip(self.particles.names, map(float, row))) for row in values], index

    def hospital_state(self, system: str, index: int, observed: HospitalRegionState | None) -> HospitalRegionState:
        """The observed census, with particle ``index``'s estimate for the hospitals not reported."""
        model = self.models[system]
        known = dict(observed.hospitals) if observed is not None else {}
        ward = self.particles.states[f"{system}:ward"][index]
        icu = self.particles.states[f"{system}:icu"][index]
        for h, name in enumerate(model.hospitals):
            if name not in known:
                known[name] = HospitalState(ward_occupied=int(round(ward[h])), icu_occupied=int(round(icu[h])),
                                            boarding_ward=0, boarding_icu=0)
        return HospitalRegionState(hospitals=known)

    # -------------------------------------------------------------------- persistence --
    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = self.particles.to_arrays()
        arrays["until_h"] = np.asarray(self.until_h)
        arrays["informed"] = np.asarray(sorted(self.informed), dtype=str)
        for system, parts in self.seen.items():
            joined = concat(parts)
            for name in ("start_h", "end_h", "element", "value"):
                arrays[f"seen:{system}:{name}"] = getattr(joined, name)
        arrays["rng"] = np.asarray(json.dumps(self.rng.bit_generator.state))
        return arrays

    def restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Continue from a stored round (same scenario)."""
        self.particles = ParticleSet.from_arrays(arrays, self.uncertain)
        self.until_h = float(arrays["until_h"])
        self.informed = {str(n) for n in arrays["informed"]}
        systems = {k.split(":")[1] for k in arrays if k.startswith("seen:")}
        self.seen = {s: [Obs(*(arrays[f"seen:{s}:{n}"] for n in ("start_h", "end_h", "element", "value")))]
                     for s in systems}
        self.rng.bit_generator.state = json.loads(str(arrays["rng"]))


def port_call_obs(calls: Iterable[float], start_h: float, end_h: float) -> Obs:
    """Hourly counting periods over ``(start_h, end_h]`` with the calls (scenario hours) in each."""
    edges = np.append(np.arange(start_h, end_h, 1.0), end_h)
    if edges.size < 2:
        return Obs(np.empty(0), np.empty(0), np.empty(0, dtype=int), np.empty(0))
    counts, _ = np.histogram(np.asarray(list(calls), dtype=float), bins=edges)
    return Obs(edges[:-1], edges[1:], np.full(counts.size, -1), counts.astype(float))

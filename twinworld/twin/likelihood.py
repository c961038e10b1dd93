"""How likely what was observed is under each particle: the filter's observation models.

Each model mirrors, in closed form and vectorised over particles, the intensity the twinworld model
itself uses; the forecasts that rank strategies are full twinworld runs.

- :class:`HospitalAdmissions`: admissions per hospital and period are Poisson with the integral of
  the hospital's emergency rate (``arrivals_per_day / 24`` x the hourly profile x every active
  ``patient_surge`` multiplier, exactly the thinned process the hospital model draws) plus its
  elective rate (``electives_per_day`` spread over 8:00-16:00). It also carries the beds in use
  at hospitals whose census is not reported (state where observations are partial): a fluid
  balance of admissions and discharges at the mean length of stay, from the last census or the
  scenario's starting census.
- :class:`PortCalls`: vessel calls per hour are Poisson with the port's arrival rate (Poisson
  ``rate_per_day`` or a fitted ``1 / mean_interarrival``) times any ``arrival_surge``.
- :class:`BusLoads`: each bus load reading is Gaussian around the case's load x ``load_scale`` x
  the hourly profile x any ``heatwave_load`` multiplier, with ``rel_sd`` relative error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.special import gammaln

from twinworld.params import Dist
from twinworld.systems.base import target_element, target_system

__all__ = ["ParamView", "Obs", "concat", "ObservationModel", "HospitalAdmissions", "PortCalls", "BusLoads",
           "observation_models", "poisson_loglik"]

_STEP_H = 0.25   # integration step of rates over a counting period (surges start at any time)


class ParamView:
    """Each particle's value of a parameter: its column if uncertain, else the scenario's number."""

    def __init__(self, names: Iterable[str], values: np.ndarray) -> None:
        self.index = {name: j for j, name in enumerate(names)}
        self.values = values
        self.size = values.shape[0]
        self.used: set[str] = set()

    def get(self, path: str, fixed: Any) -> np.ndarray:
        if path in self.index:
            self.used.add(path)
            return self.values[:, self.index[path]]
        if isinstance(fixed, Dist):
            raise KeyError(f"{path} is uncertain but not among the particles' parameters")
        return np.full(self.size, float(fixed))


@dataclass(frozen=True)
class Obs:
    """Observations of one system for a round: counts or readings over periods, in scenario hours."""

    start_h: np.ndarray          # period start
    end_h: np.ndarray            # period end (a reading: start == end)
    element: np.ndarray          # element index (hospital, bus); -1 for the whole system
    value: np.ndarray            # count or reading


def concat(parts: list[Obs]) -> Obs:
    """Observations of several rounds as one."""
    parts = [p for p in parts if p.value.size]
    if not parts:
        return _empty()
    return Obs(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("start_h", "end_h", "element", "value")))


def poisson_loglik(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Sum over columns of log Poisson(counts | expected), expected shaped (particles, periods)."""
    mu = np.maximum(expected, 1e-12)
    return np.sum(counts * np.log(mu) - mu - gammaln(counts + 1.0), axis=1)


@dataclass(frozen=True)
class _Window:
    start: np.ndarray
    end: np.ndarray
    value: np.ndarray
    element: str | None


def _windows(scenario: Any, view: ParamView, system: str, kind: str, field_name: str) -> list[_Window]:
    """Every disruption of ``kind`` on ``system``, per particle: start, end and its ``field_name``."""
    found = []
    for i, disruption in enumerate(scenario.disruptions):
        if disruption.kind != kind or target_system(disruption.target) != system:
            continue
        label = scenario.disruption_label(i)
        start = view.get(f"{label}.start", disruption.start)
        end = (start + view.get(f"{label}.duration", disruption.duration) if disruption.duration is not None
               else np.full(view.size, np.inf))
        found.append(_Window(start, end, view.get(f"{label}.{field_name}", getattr(disruption, field_name)),
                             target_element(disruption.target)))
    return found


def _factor(windows: list[_Window], times: np.ndarray, element: str | None) -> np.ndarray:
    """``(particles, times)`` product of the multipliers active at each time (for ``element``)."""
    factor = np.ones((windows[0].start.size if windows else 1, times.size))
    for window in windows:
        if window.element is not None and window.element != element:
            continue
        active = (window.start[:, None] <= times[None, :]) & (times[None, :] < window.end[:, None])
        factor = factor * np.where(active, window.value[:, None], 1.0)
    return factor


def _grid(start_h: float, end_h: float) -> np.ndarray:
    steps = max(1, int(math.ceil((end_h - start_h) / _STEP_H - 1e-9)))
    return start_h + (np.arange(steps) + 0.5) * (end_h - start_h) / steps


class ObservationModel(Protocol):
    system: str

    def log_likelihood(self, view: ParamView, obs: Obs) -> np.ndarray: ...


# -------------------------------------------------------------------------- hospitals --
@dataclass
class HospitalAdmissions:
    """Admissions per hospital (Poisson), and beds in use where no census is reported."""

    scenario: Any
    system: str
    hospitals: list[str] = field(init=False)

    def __post_init__(self) -> None:
        config = self.scenario.systems[self.system]
        self.config = config
        self.hospitals = config.hospital_names()
        profile = np.ones(24) if config.hourly_profile is None else np.asarray(config.hourly_profile, float)
        self.profile = profile / profile.mean()

    def _rates(self, view: ParamView, hospital: int, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(emergency, elective)`` admissions per hour at ``times``, ``(particles, times)``."""
        spec = self.config.hospitals[hospital]
        base = f"{self.system}.hospitals.{spec.name}"
        per_h = view.get(f"{base}.arrivals_per_day", spec.arrivals_per_day) / 24.0
        surges = _windows(self.scenario, view, self.system, "patient_surge", "multiplier")
        hour = (np.floor(times) % 24).astype(int)
        emergency = per_h[:, None] * self.profile[hour][None, :] * _factor(surges, times, spec.name)
        electives = view.get(f"{base}.electives_per_day", spec.electives_per_day) / 8.0
        in_day = ((times % 24) >= 8) & ((times % 24) < 16)
        return emergency, electives[:, None] * in_day[None, :]

    def expected(self, view: ParamView, obs: Obs) -> np.ndarray:
        """Expected admissions ``(particles, observations)``: each period's rate integrated on a
        quarter-hour grid, every period of a hospital in one vectorised pass."""
        out = np.empty((view.size, obs.value.size))
        for hospital in np.unique(obs.element):
            picked = np.flatnonzero(obs.element == hospital)
            grids = [_grid(float(obs.start_h[k]), float(obs.end_h[k])) for k in picked]
            lengths = np.array([g.size for g in grids])
            emergency, electives = self._rates(view, int(hospital), np.concatenate(grids))
            sums = np.add.reduceat(emergency + electives, np.r_[0, np.cumsum(lengths)[:-1]], axis=1)
            out[:, picked] = sums / lengths * (obs.end_h[picked] - obs.start_h[picked])
        return out

    def log_likelihood(self, view: ParamView, obs: Obs) -> np.ndarray:
        return poisson_loglik(obs.value[None, :], self.expected(view, obs))

    # ------------------------------------------------------------- beds in use (state) --
    def _mean_los_h(self, view: ParamView, bed: str) -> np.ndarray:
        classes = [c for c in self.config.patient_classes if c.bed == bed]
        if not classes:
            return np.full(view.size, 24.0)
        shares = [view.get(f"{self.system}.patient_classes.{c.name}.share", c.share) for c in classes]
        means = [view.get(f"{self.system}.patient_classes.{c.name}.los.mean", c.los.mean) for c in classes]
        total = np.sum(shares, axis=0)
        return np.sum([s * m for s, m in zip(shares, means)], axis=0) / np.maximum(total, 1e-12)

    def _bed_shares(self, view: ParamView) -> dict[str, np.ndarray]:
        classes = self.config.patient_classes
        shares = {c.name: view.get(f"{self.system}.patient_classes.{c.name}.share", c.share) for c in classes}
        total = np.maximum(np.sum(list(shares.values()), axis=0), 1e-12)
        return {bed: np.sum([shares[c.name] for c in classes if c.bed == bed] or [np.zeros(view.size)],
                            axis=0) / total for bed in ("ward", "icu")}

    def initial_state(self, size: int) -> dict[str, np.ndarray]:
        """Beds in use at time 0 from the scenario's census, ``(particles, hospitals)`` per bed type."""
        ward = [h.census.ward if h.census else 0 for h in self.config.hospitals]
        icu = [h.census.icu if h.census else 0 for h in self.config.hospitals]
        return {f"{self.system}:ward": np.tile(np.asarray(ward, float), (size, 1)),
                f"{self.system}:icu": np.tile(np.asarray(icu, float), (size, 1))}

    def propagate(self, view: ParamView, states: dict[str, np.ndarray], hospital: int,
                  start_h: float, end_h: float) -> None:
        """Move one hospital's beds in use from ``start_h`` to ``end_h`` (mean-field, hourly steps)."""
        if end_h <= start_h:
            return
        shares = self._bed_shares(view)
        spec = self.config.hospitals[hospital]
        beds = {"ward": spec.ward_beds, "icu": spec.icu_beds}
        edges = np.append(np.arange(start_h, end_h, 1.0), end_h)
        elective_los = view.get(f"{self.system}.elective_los.mean", self.config.elective_los.mean)
        for bed in ("ward", "icu"):
            los = self._mean_los_h(view, bed)
            column = states[f"{self.system}:{bed}"][:, hospital]
            for a, b in zip(edges[:-1], edges[1:]):
                times = _grid(float(a), float(b))
                emergency, electives = self._rates(view, hospital, times)
                arrivals = (emergency * shares[bed][:, None]).mean(axis=1)
                if bed == "ward":   # electives weighted so that their steady-state beds are right
                    arrivals = arrivals + electives.mean(axis=1) * elective_los / np.maximum(los, 1e-9)
                decay = np.exp(-(b - a) / np.maximum(los, 1e-9))
                column = column * decay + arrivals * los * (1 - decay)
                column = np.minimum(column, beds[bed])
            states[f"{self.system}:{bed}"][:, hospital] = column

    def observations(self, rows: Iterable[dict[str, Any]], hours: Any) -> Obs:
        """``admissions`` events -> counting periods (scenario hours) per hospital."""
        index = {name: i for i, name in enumerate(self.hospitals)}
        picked = [(hours(r["observed_at"]), float(r["body"]["hours"]), index[r["element"]], r["body"]["count"])
                  for r in rows if r["kind"] == "admissions" and r["element"] in index]
        if not picked:
            return _empty()
        end, length, element, count = (np.asarray(x, dtype=float) for x in zip(*picked))
        return Obs(end - length, end, element.astype(int), count)


# ------------------------------------------------------------------------------- port --
@dataclass
class PortCalls:
    """Vessel calls per hour at a port (Poisson)."""

    scenario: Any
    system: str

    def rate_per_h(self, view: ParamView, times: np.ndarray) -> np.ndarray | None:
        arrivals = self.scenario.systems[self.system].arrivals
        base = f"{self.system}.arrivals"
        if arrivals.kind == "poisson":
            per_h = view.get(f"{base}.rate_per_day", arrivals.rate_per_day) / 24.0
        elif arrivals.kind == "fitted":
            per_h = 1.0 / np.maximum(view.get(f"{base}.mean_interarrival", arrivals.mean_interarrival), 1e-9)
        else:
            return None
        surges = _windows(self.scenario, view, self.system, "arrival_surge", "multiplier")
        extra = _factor(surges, times, None) - 1.0 if surges else np.zeros((1, times.size))
        return per_h[:, None] * (1.0 + extra)

    def log_likelihood(self, view: ParamView, obs: Obs) -> np.ndarray:
        out = np.zeros(view.size)
        for k in range(obs.value.size):
            times = _grid(float(obs.start_h[k]), float(obs.end_h[k]))
            rate = self.rate_per_h(view, times)
            if rate is None:
                return out
            mu = rate.mean(axis=1) * (obs.end_h[k] - obs.start_h[k])
            out += poisson_loglik(obs.value[k:k + 1][None, :], mu[:, None])
        return out


# ------------------------------------------------------------------------------- grid --
@dataclass
class BusLoads:
    """Bus load readings (Gaussian around the model's load at that hour)."""

    scenario: Any
    system: str
    rel_sd: float = 0.05
    abs_sd_mw: float = 0.5

    def __post_init__(self) -> None:
        from twinworld.systems.grid.config import SUMMER_PROFILE
        from twinworld.systems.grid.engine import cached_case
        from twinworld.systems.grid.model import case_source

        config = self.scenario.systems[self.system]
        self.case = cached_case(case_source(config), config.source.digest)
        self.profile = np.asarray(config.load_profile or SUMMER_PROFILE, dtype=float)
        self.config = config

    def log_likelihood(self, view: ParamView, obs: Obs) -> np.ndarray:
        scale = view.get(f"{self.system}.load_scale", self.config.load_scale)
        heat = _windows(self.scenario, view, self.system, "heatwave_load", "multiplier")
        times = obs.end_h
        factor = _factor(heat, times, None) * self.profile[(np.floor(times) % 24).astype(int)][None, :]
        base = self.case.load_mw[obs.element.astype(int)]
        mean = scale[:, None] * base[None, :] * factor
        sd = self.rel_sd * np.abs(mean) + self.abs_sd_mw
        z = (obs.value[None, :] - mean) / sd
        return np.sum(-0.5 * z * z - np.log(sd) - 0.5 * math.log(2 * math.pi), axis=1)

    def observations(self, rows: Iterable[dict[str, Any]], hours: Any) -> Obs:
        aliases = self.case.bus_aliases
        picked = []
        for row in rows:
            body = row["body"]
            if row["kind"] == "element" and "bus_load_mw" in body and row["element"] in aliases:
                picked.append((hours(row["observed_at"]), aliases[row["element"]], body["bus_load_mw"]))
            elif row["kind"] == "state":
                picked += [(hours(row["observed_at"]), aliases[b], mw)
                           for b, mw in body.get("bus_load_mw", {}).items() if b in aliases]
        if not picked:
            return _empty()
        t, element, value = (np.asarray(x, dtype=float) for x in zip(*picked))
        return Obs(t, t, element.astype(int), value)


def _empty() -> Obs:
    return Obs(np.empty(0), np.empty(0), np.empty(0, dtype=int), np.empty(0))


def observation_models(scenario: Any) -> dict[str, Any]:
    """An observation model for every system of the scenario that has one."""
    models: dict[str, Any] = {}
    for name, config in scenario.systems.items():
        if config.kind == "hospital_region":
            models[name] = HospitalAdmissions(scenario, name)
        elif config.kind == "port" and config.arrivals.kind in ("poisson", "fitted"):
            models[name] = PortCalls(scenario, name)
        elif config.kind == "power_grid":
            models[name] = BusLoads(scenario, name)
    return models

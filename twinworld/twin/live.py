"""The live twin: telemetry in, state and history kept, calibrated forecasts out, round by round.

A :class:`LiveTwin` is fed batches of received messages (:meth:`LiveTwin.ingest`, from MQTT, the
AIS feed or a replayed file); each is checked, stored (or quarantined) in the twin's DuckDB file
and folded into the current state, and its acknowledgement runs after the commit. A round
(:meth:`LiveTwin.round`) at a given time calibrates the particle filter on the observations made
since the last round, draws from the posterior, forecasts every strategy from the current state
and ranks them; the recommendation carries its provenance and is kept in the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from twinworld.errors import TwinworldError
from twinworld.systems.base import ObservedState
from twinworld.twin.ais import port_areas
from twinworld.twin.calibrate import Calibrator, Census, FilterOptions, port_call_obs
from twinworld.twin.channels import telemetry_for
from twinworld.twin.clock import TwinClock
from twinworld.twin.forecast import Forecaster, ForecastOptions
from twinworld.twin.guard import Limits, Message, Reason, Rejection, check_message
from twinworld.twin.likelihood import HospitalAdmissions, Obs
from twinworld.twin.state import TwinState
from twinworld.twin.store import BatchResult, Outcome, Received, StoreError, TwinStore
from twinworld.twin.topics import default_prefix

__all__ = ["TwinOptions", "LiveTwin", "Pending"]


@dataclass(frozen=True)
class TwinOptions:
    """A live twin's settings.

    Parameters
    ----------
    prefix
        Topic prefix (default ``twinworld/<scenario slug>``).
    t0
        The absolute time of scenario hour 0 (default: kept in the store, else the first message).
    filter, forecast
        The particle filter's and the forecasts' settings.
    limits
        What a message may be (size, nesting).
    """

    prefix: str | None = None
    t0: datetime | None = None
    filter: FilterOptions = field(default_factory=FilterOptions)
    forecast: ForecastOptions = field(default_factory=ForecastOptions)
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Pending:
    """A received message on its way in: ``ack`` runs once it is committed; ``verdict`` is a
    rejection decided before the guard (an AIS line that is not NMEA)."""

    received: Received
    ack: Callable[[], None] | None = None
    verdict: Rejection | None = None


class LiveTwin:
    """One scenario's live twin over its store.

    Parameters
    ----------
    scenario
        A loaded scenario (any systems).
    store
        The twin's store; a store with history resumes: state, clock and filter.
    options
        Settings.
    """

    def __init__(self, scenario: Any, store: TwinStore, options: TwinOptions = TwinOptions()) -> None:
        self.scenario = scenario
        self.store = store
        self.options = options
        self.prefix = (options.prefix or default_prefix(scenario.name)).rstrip("/")
        self.telemetry = telemetry_for(scenario)
        self._check_store()
        self.state = TwinState(self.telemetry, port_areas(scenario), _mean_teu(scenario))
        self.calibrator = Calibrator(scenario, options.filter)
        self.forecaster = Forecaster(scenario, options.forecast)
        self._lock = threading.RLock()
        self.rounds_done = 0
        self._last_seq = -1
        self._last_round_time: datetime | None = None
        self.clock = self._clock()
        self._resume()

    # ------------------------------------------------------------------ store and resume --
    def _check_store(self) -> None:
        meta = self.store.meta()
        if meta.get("scenario") not in (None, self.scenario.name) or meta.get("prefix") not in (None, self.prefix):
            raise StoreError(f"the twin store {self.store.path} belongs to scenario {meta.get('scenario')!r} "
                             f"(topics {meta.get('prefix')}); use another --store for {self.scenario.name!r}")
        self.store.set_meta(scenario=self.scenario.name, prefix=self.prefix)

    def _clock(self) -> TwinClock | None:
        stored = self.store.meta().get("t0")
        if stored is not None:
            clock = TwinClock(datetime.fromisoformat(stored))
            if self.options.t0 is not None and clock.t0 != TwinClock(self.options.t0).t0:
                raise StoreError(f"the twin store {self.store.path} has time 0 at {stored}; "
                                 f"--t0 {self.options.t0.isoformat()} differs")
            return clock
        if self.options.t0 is not None:
            self.store.set_meta(t0=TwinClock(self.options.t0).t0.isoformat())
            return TwinClock(self.options.t0)
        return None

    def _resume(self) -> None:
        positions = self.store.history(kind="vessel_position")
        self.state.load(self.store.latest().to_dict("records"), positions.to_dict("records"))
        last = self.store.last_round()
        if last is not None:
            number, stamp, arrays = last
            self.calibrator.restore(arrays)
            self.rounds_done = number
            self._last_seq = int(arrays.get("last_seq", -1))
            self._last_round_time = stamp

    # ------------------------------------------------------------------------- ingest --
    def ingest(self, items: Iterable[Pending]) -> BatchResult:
        """Check, store (one transaction) and fold a batch, then acknowledge each message."""
        batch = list(items)
        outcomes = [Outcome(p.received, p.verdict or self._check(p.received)) for p in batch]
        with self._lock:
            result = self.store.record(outcomes)
            for seq, outcome in result.stored:
                assert isinstance(outcome.result, Message)
                if self.clock is None:
                    self.clock = TwinClock(outcome.result.observed_at)
                    self.store.set_meta(t0=self.clock.t0.isoformat())
                self.state.take(outcome.result, seq)
        for pending in batch:
            if pending.ack is not None:
                pending.ack()
        return result

    def _check(self, received: Received) -> Message | Rejection:
        try:
            return check_message(received.topic, received.payload, self.telemetry, prefix=self.prefix,
                                 received_at=received.received_at, limits=self.options.limits)
        except Exception as err:  # a bug of ours must not lose the message or stop the twin
            return Rejection(Reason.INTERNAL, f"{type(err).__name__}: {str(err)[:160]}")

    # -------------------------------------------------------------------------- rounds --
    def observations(self, now: datetime) -> tuple[dict[str, Obs], dict[str, dict[int, Census]], int]:
        """What the filter has not used yet, per system; the hospitals' censuses; the message count."""
        assert self.clock is not None
        rows = self.store.unused(until=now, after_seq=self._last_seq, after=self._last_round_time)
        records = rows.assign(body=rows["body"].map(json.loads)).to_dict("records") if len(rows) else []
        hours = self.clock.hours
        obs: dict[str, Obs] = {}
        for system, model in self.calibrator.models.items():
            mine = [r for r in records if r["system"] == system]
            if hasattr(model, "observations"):
                obs[system] = model.observations(mine, hours)
            else:
                obs[system] = self._port_calls(system, mine, now)
        census = {system: self._census(system, model, now) for system, model in self.calibrator.models.items()
                  if isinstance(model, HospitalAdmissions)}
        return obs, census, len(records)

    def _port_calls(self, system: str, rows: list[dict[str, Any]], now: datetime) -> Obs:
        assert self.clock is not None
        tracker = self.state.trackers.get(system)
        calls = [self.clock.hours(r["observed_at"]) for r in rows if r["kind"] == "vessel_arrived"]
        start = self.clock.hours(self._last_round_time) if self._last_round_time else self.calibrator.until_h
        if tracker is not None and tracker.vessels:
            calls += [self.clock.hours(t) for t in tracker.calls_between(self._last_round_time, now)]
        elif not calls:
            return port_call_obs([], 0.0, 0.0)   # no source of calls: zero calls would be no evidence
        return port_call_obs(calls, start, self.clock.hours(now))

    def _census(self, system: str, model: HospitalAdmissions, now: datetime) -> dict[int, Census]:
        """Each reported hospital's beds in use (the folded state) and when it was last reported."""
        assert self.clock is not None
        observed = self.state.observed(now).get(system)
        if observed is None:
            return {}
        times = self.state.observed_at(system)
        snapshot = times.get("")
        found = {}
        for h, name in enumerate(model.hospitals):
            part = observed.hospitals.get(name)  # type: ignore[attr-defined]
            stamps = [t for t in (times.get(name), snapshot if part is not None else None) if t is not None]
            if part is not None and stamps:
                found[h] = Census(self.clock.hours(max(stamps)), part.ward_occupied, part.icu_occupied)
        return found

    def calibrate(self, now: datetime) -> Any:
        """Weight the particles by what was observed by ``now`` and not used yet (a round's first half)."""
        with self._lock:
            if self.clock is None:
                raise TwinworldError("no telemetry yet and no --t0: the twin clock has no time 0")
            obs, census, used = self.observations(now)
            report = self.calibrator.assimilate(obs, self.clock.hours(now), census=census)
            report.used = used
            self._last_seq, self._last_round_time = self.store.max_seq(), now
            return report

    def round(self, now: datetime) -> dict[str, Any]:
        """Calibrate on what was observed by ``now``, forecast every strategy from the state at
        ``now``, rank, and keep the recommendation (returned as a JSON-able dict)."""
        started = time.perf_counter()
        report = self.calibrate(now)
        with self._lock:
            assert self.clock is not None
            now_h = self.clock.hours(now)
            observed = self.state.observed(now)
            counts = self.store.counts()
            number = self.rounds_done + 1
            draws, states = self.draws(number, observed)
        runs = self.forecaster.run(draws, states, now_h, number, observed_systems=set(observed))
        table, primary, direction, failed = self.forecaster.rank(runs)
        payload = _payload(self, number, now, now_h, report, table, primary, direction, failed, report.used,
                           counts, observed, time.perf_counter() - started)
        with self._lock:
            arrays = self.calibrator.to_arrays()
            arrays["last_seq"] = np.asarray(self._last_seq)
            self.store.save_round(number, now, payload, arrays)
            self.rounds_done = number
        return payload

    def draws(self, number: int, observed: dict[str, ObservedState], *, prior: bool = False
              ) -> tuple[list[dict[str, float]], list[dict[str, ObservedState]]]:
        """Round ``number``'s posterior draws (``prior``: ignore what was learnt) and the state each
        starts from: what is observed, and its own estimate of what is not."""
        rng = np.random.default_rng([self.options.forecast.seed, number, 0xD4A])
        if prior:
            return self._prior_draws(rng, observed)
        draws, index = self.calibrator.draw(self.options.forecast.particles, rng)
        states = []
        for i in index:
            state = dict(observed)
            for system, model in self.calibrator.models.items():
                if isinstance(model, HospitalAdmissions):
                    state[system] = self.calibrator.hospital_state(system, int(i), observed.get(system))  # type: ignore[arg-type]
            states.append(state)
        return draws, states

    def _prior_draws(self, rng: np.random.Generator, observed: dict[str, ObservedState]
                     ) -> tuple[list[dict[str, float]], list[dict[str, ObservedState]]]:
        """Draws of an uncalibrated twin: the prior, from the same observed state (hospitals not
        reported keep the scenario's census)."""
        from twinworld.twin.particles import ParticleSet

        prior = ParticleSet.from_prior(self.calibrator.uncertain, self.options.forecast.particles, rng)
        draws = [dict(zip(prior.names, map(float, row))) for row in prior.values()]
        return draws, [dict(observed) for _ in draws]

    def close(self) -> None:
        self.forecaster.close()


def _mean_teu(scenario: Any) -> dict[str, float]:
    from twinworld.params import Dist

    means = {}
    for name, config in scenario.systems.items():
        if config.kind == "port":
            mean = config.call_size.mean_teu
            means[name] = mean.ppf(0.5) if isinstance(mean, Dist) else float(mean)
    return means


def _payload(twin: LiveTwin, number: int, now: datetime, now_h: float, report: Any, table: pd.DataFrame,
             primary: str, direction: Any, failed: int, used: int, counts: dict[str, Any],
             observed: dict[str, ObservedState], wall_s: float) -> dict[str, Any]:
    """The recommendation with its provenance (what the dashboard and the notebook read)."""
    assert twin.clock is not None
    calibrated = sorted(twin.calibrator.informed)
    return {
        "scenario": twin.scenario.name, "round": number, "state_time": now.isoformat(),
        "t0": twin.clock.t0.isoformat(), "scenario_time_h": round(now_h, 4),
        "horizon_h": twin.options.forecast.horizon_h,
        "recommended": str(table.iloc[0]["strategy"]) if len(table) else None,
        "primary": primary, "direction": str(direction),
        "strategies": json.loads(table.to_json(orient="records")),
        "draws": int(twin.options.forecast.particles), "failed_runs": failed,
        "posterior": report.posterior, "calibrated": calibrated,
        "prior_only": [n for n in twin.calibrator.particles.names if n not in calibrated],
        "ess": round(report.ess, 2), "particles": twin.calibrator.particles.size, "resampled": report.resampled,
        "messages": {"used": used, **counts},
        "observed": {name: state.model_dump(mode="json") for name, state in observed.items()},
        "wall_s": round(wall_s, 3),
    }

"""Telemetry from a hidden truth: a twinworld run with chosen values, observed hour by hour.

A truth run is a scenario resolved with values the twin does not know, stepped one simulated hour
at a time. Each hour it reports what sensors would: every system's observable state (whole
snapshots, or one message per element), events for what broke or came back since the last hour
(lines, roads, berths, the port) and each hospital's admissions in that hour. The records are
those of a replay file (:mod:`twinworld.twin.replay`). The hourly states of the whole run are kept
too, so a forecast can be compared with what then happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinworld.experiments.run import build_world
from twinworld.scenario.uncertain import resolve
from twinworld.twin.topics import default_prefix

__all__ = ["TruthRun", "simulate_truth", "occupancy"]


@dataclass
class TruthRun:
    """A hidden truth and what it looked like."""

    values: dict[str, float]
    seed: int
    t0: datetime
    records: list[dict[str, Any]] = field(default_factory=list)   # replay-file records, by time
    states: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)  # (hour, system, state)


_DIFF_EVENTS = {  # observable list field -> (event when added, event when removed, element field)
    "lines_out": ("line_tripped", "line_restored", "line"),
    "generators_out": ("generator_tripped", "generator_restored", "generator"),
    "closed_links": ("road_closed", "road_reopened", "link"),
}


def _events(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for name, (added, removed, key) in _DIFF_EVENTS.items():
        if name not in after:
            continue
        old, new = set(before.get(name, [])), set(after[name])
        events += [{"kind": added, key: e} for e in sorted(new - old)]
        events += [{"kind": removed, key: e} for e in sorted(old - new)]
    if "open" in after and after["open"] != before.get("open", True):
        events.append({"kind": "port_reopened" if after["open"] else "port_closed"})
    return events


def _admissions(system: Any) -> dict[str, int] | None:
    """Patients who have arrived at each hospital so far (the hospital model's own counter)."""
    hospitals = getattr(system, "hospitals", None)
    if system.kind != "hospital_region" or hospitals is None:
        return None
    return {name: hospital.counts["arrived"] for name, hospital in hospitals.items()}


def simulate_truth(scenario: Any, values: Mapping[str, float], *, seed: int, t0: datetime, hours: int,
                   observe_hours: int | None = None, prefix: str | None = None,
                   per_element: bool = True, systems: set[str] | None = None) -> TruthRun:
    """Run the truth for ``hours`` hours and record the telemetry of the first ``observe_hours``.

    Parameters
    ----------
    scenario
        A loaded scenario; ``values`` fills its uncertain parameters (the hidden truth).
    seed
        The truth run's seed.
    t0
        The absolute time of hour 0.
    hours
        Hours to simulate; states are kept for all of them.
    observe_hours
        Hours with telemetry (default: all).
    per_element
        One state message per element (a census per hospital) rather than one snapshot per system.
    systems
        Systems that send telemetry (default: all with an observable state).
    """
    resolved = resolve(scenario, dict(values))
    resolved = resolved.model_copy(update={"horizon": float(hours), "warmup": 0.0})
    resolved._registry, resolved._resolved = scenario._registry, True
    world = build_world(resolved, "baseline", seed)
    prefix = prefix or default_prefix(scenario.name)
    truth = TruthRun(dict(values), seed, t0)
    names = [n for n, s in world.systems.items() if systems is None or n in systems]
    while world.env.peek() <= 0.0:   # what happens at time 0 has happened: that state is reported too
        world.env.step()
    before = {n: world.systems[n].observe().model_dump(mode="json") for n in names}
    arrived = {n: _admissions(world.systems[n]) for n in names}
    start = (t0.isoformat().replace("+00:00", "Z"))
    for name in names:
        truth.records += _hour_records(prefix, name, start, before[name], before[name], per_element)
    for hour in range(1, hours + 1):
        world.env.run(until=float(hour))
        stamp = (t0 + timedelta(hours=hour)).isoformat().replace("+00:00", "Z")
        for name in names:
            system = world.systems[name]
            state = system.observe().model_dump(mode="json")
            truth.states.append((float(hour), name, state))
            if observe_hours is not None and hour > observe_hours:
                continue
            truth.records += _hour_records(prefix, name, stamp, state, before[name], per_element)
            counts, before_counts = _admissions(system), arrived[name]
            if counts is not None and before_counts is not None:
                truth.records += [{"time": stamp, "topic": f"{prefix}/{name}/event",
                                   "payload": {"kind": "admissions", "hospital": h, "count": int(c - before_counts[h]),
                                               "hours": 1.0, "time": stamp}} for h, c in counts.items()]
                arrived[name] = counts
            before[name] = state
    return truth


def _hour_records(prefix: str, name: str, stamp: str, state: dict[str, Any], before: dict[str, Any],
                  per_element: bool) -> list[dict[str, Any]]:
    records = [{"time": stamp, "topic": f"{prefix}/{name}/event", "payload": {**event, "time": stamp}}
               for event in _events(before, state)]
    elements = state.get("hospitals") or state.get("warehouses")
    if per_element and isinstance(elements, dict):
        records += [{"time": stamp, "topic": f"{prefix}/{name}/state/{element}", "payload": {**part, "time": stamp}}
                    for element, part in elements.items()]
    else:
        records.append({"time": stamp, "topic": f"{prefix}/{name}/state", "payload": {**state, "time": stamp}})
    return records


def occupancy(states: list[tuple[float, str, dict[str, Any]]], system: str) -> pd.DataFrame:
    """Beds in use (ward + ICU) per hospital and hour from a run's hourly states."""
    rows = [{"hour": hour, "hospital": name, "occupied": part["ward_occupied"] + part["icu_occupied"]}
            for hour, sys_name, state in states if sys_name == system
            for name, part in state.get("hospitals", {}).items()]
    return pd.DataFrame(rows, columns=["hour", "hospital", "occupied"])


def hourly_states(scenario: Any, values: Mapping[str, float], state: Mapping[str, Any] | None, *, seed: int,
                  hours: int, strategy: str = "baseline") -> list[tuple[float, str, dict[str, Any]]]:
    """A run's observable states each hour (a forecast path): ``(hour, system, state)``."""
    resolved = resolve(scenario, dict(values)) if values else scenario
    resolved = resolved.model_copy(update={"horizon": float(hours), "warmup": 0.0})
    resolved._registry, resolved._resolved = scenario._registry, True
    world = build_world(resolved, strategy, np.random.SeedSequence(seed), state=state)
    out = []
    for hour in range(1, hours + 1):
        world.env.run(until=float(hour))
        out += [(float(hour), name, system.observe().model_dump(mode="json"))
                for name, system in world.systems.items()]
    return out

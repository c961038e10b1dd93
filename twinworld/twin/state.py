"""The current observed state of every system, folded from the latest telemetry.

The twin keeps, per system, the newest state-changing message per slot and element (the store's
``latest`` table). The observed state is those messages applied oldest first to an empty state:
a whole-state snapshot replaces everything, an element message updates that element (the fields
it sends; the others keep their value), an event changes what it is about (a line out, a berth
closed). So the newest word on anything wins, whichever way it came.

AIS positions go through a :class:`~twinworld.twin.ais.VesselTracker` per port, which turns them
into vessels at the anchorage and at berths.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twinworld.systems.base import ObservedState
from twinworld.twin.ais import PortArea, VesselTracker
from twinworld.twin.channels import SystemTelemetry, Telemetry
from twinworld.twin.guard import Message

__all__ = ["Entry", "FoldContext", "fold", "TwinState"]


@dataclass(frozen=True)
class Entry:
    """One latest message: its slot (``state`` or ``event:<facet>``), element, kind, time, body."""

    slot: str
    element: str
    kind: str
    observed_at: datetime
    seq: int
    body: dict[str, Any]


@dataclass
class FoldContext:
    """What folding needs beyond the messages: the time now and a port's mean call size."""

    now: datetime
    mean_teu: float = 1000.0
    event_time: datetime | None = None

    def vessel_at_anchor(self, state: dict[str, Any], name: str, teu: float | None) -> None:
        since = self.event_time or self.now
        anchorage = [v for v in state.get("anchorage", []) if v.get("name") != name]
        anchorage.append({"name": name, "teu": teu or self.mean_teu,
                          "waiting_h": max(0.0, (self.now - since).total_seconds() / 3600.0)})
        state["anchorage"] = anchorage


def _apply_element(spec: SystemTelemetry, state: dict[str, Any], element: str, body: dict[str, Any]) -> None:
    element_type = spec.type_of(element)
    fields = [f for f in spec.fields if f.element_type == element_type]
    model_field = next((f for f in fields if f.shape == "model"), None)
    if model_field is not None:
        entries = state.setdefault(model_field.name, {})
        entries[element] = {**entries.get(element, {}), **body}
        return
    for item in fields:
        if item.name not in body or body[item.name] is None:
            continue
        if item.shape == "number":
            state.setdefault(item.name, {})[element] = body[item.name]
        else:
            members = state.setdefault(item.name, [])
            if body[item.name] and element not in members:
                members.append(element)
            elif not body[item.name] and element in members:
                members.remove(element)


def fold(spec: SystemTelemetry, entries: Iterable[Entry], context: FoldContext) -> ObservedState:
    """A system's observed state from its latest entries (applied in time order)."""
    state: dict[str, Any] = {}
    for entry in sorted(entries, key=lambda e: (e.observed_at, e.seq)):
        if entry.slot == "state" and not entry.element:
            state = json.loads(json.dumps(entry.body))
        elif entry.slot == "state":
            _apply_element(spec, state, entry.element, entry.body)
        else:
            model = spec.events.get(entry.kind)
            if model is not None:
                context.event_time = entry.observed_at
                model.model_validate(entry.body).apply(state, context)
    return spec.observable.model_validate(state)


@dataclass
class TwinState:
    """The latest entries of every system and the vessel trackers, kept current as messages arrive.

    Parameters
    ----------
    telemetry
        The scenario's telemetry contract.
    ports
        Port system name -> its area (polygons) for AIS positions.
    mean_teu
        Port system name -> mean TEU of a call (for vessels whose cargo is not reported).
    """

    telemetry: Telemetry
    ports: dict[str, PortArea] = field(default_factory=dict)
    mean_teu: dict[str, float] = field(default_factory=dict)
    entries: dict[str, dict[tuple[str, str], Entry]] = field(default_factory=dict)
    trackers: dict[str, VesselTracker] = field(default_factory=dict)
    newest: datetime | None = None

    def __post_init__(self) -> None:
        for system, area in self.ports.items():
            self.trackers.setdefault(system, VesselTracker(area))

    def take(self, message: Message, seq: int) -> None:
        """Fold one stored message in (an older message for a slot already held is ignored)."""
        self.newest = message.observed_at if self.newest is None else max(self.newest, message.observed_at)
        if message.kind == "vessel_position" and message.system in self.trackers:
            self.trackers[message.system].update(message.body, message.observed_at)
            return
        if message.slot == "event":
            return
        entry = Entry(message.slot, message.element, message.kind, message.observed_at, seq, message.body)
        slots = self.entries.setdefault(message.system, {})
        old = slots.get((entry.slot, entry.element))
        if old is None or (old.observed_at, old.seq) <= (entry.observed_at, entry.seq):
            slots[(entry.slot, entry.element)] = entry

    def load(self, latest: Iterable[dict[str, Any]], positions: Iterable[dict[str, Any]]) -> None:
        """Rebuild from a store: its ``latest`` rows and its stored vessel positions (in time order)."""
        for row in positions:
            tracker = self.trackers.get(row["system"])
            if tracker is not None:
                tracker.update(json.loads(row["body"]), row["observed_at"].to_pydatetime())
            self._newer(row["observed_at"].to_pydatetime())
        for row in latest:
            stamp = row["observed_at"].to_pydatetime()
            entry = Entry(row["slot"], row["element"], row["kind"], stamp, int(row["seq"]), json.loads(row["body"]))
            self.entries.setdefault(row["system"], {})[(entry.slot, entry.element)] = entry
            self._newer(stamp)

    def _newer(self, stamp: datetime) -> None:
        self.newest = stamp if self.newest is None else max(self.newest, stamp)

    def observed(self, now: datetime) -> dict[str, ObservedState]:
        """Every system with telemetry so far -> its observed state at ``now``."""
        states: dict[str, ObservedState] = {}
        for system, spec in self.telemetry.systems.items():
            slots = self.entries.get(system, {})
            tracker = self.trackers.get(system)
            if not slots and (tracker is None or not tracker.vessels):
                continue
            context = FoldContext(now, self.mean_teu.get(system, 1000.0))
            state = fold(spec, slots.values(), context)
            if tracker is not None:
                state = tracker.apply(state, now, mean_teu=context.mean_teu)
            states[system] = state
        return states

    def observed_at(self, system: str) -> dict[str, datetime]:
        """When each element of a system was last reported (``""`` for a whole-state snapshot)."""
        return {element: entry.observed_at for (slot, element), entry in self.entries.get(system, {}).items()
                if slot == "state"}

"""What the running dashboard knows: the scenario, the sweeps, the live feed, cached replays.

Every problem found while opening inputs (a bad path, an unfinished sweep, a scenario that does not
load) becomes a message kept here, printed once in the terminal and shown on the page; nothing
raises out of it.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinworld.dashboard.options import DashboardError, DashboardOptions, parse_broker
from twinworld.dashboard.sweepdata import OpenedSweep, open_sweep
from twinworld.errors import TwinworldError

__all__ = ["Context", "Loaded", "build_context", "guarded_text"]


@dataclass
class Loaded:
    """A scenario, or why it could not be loaded."""

    scenario: Any = None
    error: str = ""
    origin: str = ""


@dataclass
class Context:
    options: DashboardOptions
    scenario: Loaded
    sweeps: dict[str, OpenedSweep]
    live: Any = None
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    _region: Any = None
    _sweep_scenarios: dict[str, Loaded] = field(default_factory=dict)
    _replays: "OrderedDict[str, Any]" = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def region(self) -> Any:
        """The region map of the scenario (built once); DashboardError without a scenario."""
        if self.scenario.scenario is None:
            raise DashboardError(self.scenario.error or "no scenario: give --scenario FILE or a sweep folder")
        with self._lock:
            if self._region is None:
                from twinworld.dashboard.regionmap import region_map

                self._region = region_map(self.scenario.scenario)
            return self._region

    def sweep_scenario(self, key: str) -> Loaded:
        """The scenario a sweep ran (for opening its runs), loaded once."""
        with self._lock:
            if key not in self._sweep_scenarios:
                self._sweep_scenarios[key] = _sweep_scenario(self.sweeps[key])
            return self._sweep_scenarios[key]

    def replay(self, key: str, compute: Callable[[], Any]) -> Any:
        """A cached replay (the last eight are kept)."""
        with self._lock:
            if key in self._replays:
                self._replays.move_to_end(key)
                return self._replays[key]
        value = compute()
        with self._lock:
            self._replays[key] = value
            while len(self._replays) > 8:
                self._replays.popitem(last=False)
        return value

    def cached_replay(self, key: str) -> Any:
        with self._lock:
            return self._replays.get(key)


def _load(path: Path, origin: str) -> Loaded:
    from twinworld.scenario.loader import load_scenario

    try:
        return Loaded(load_scenario(path), origin=origin)
    except TwinworldError as err:
        text = str(err)
        return Loaded(error=text if text.startswith(str(path)) else f"{origin}: {text}", origin=origin)
    except OSError as err:
        return Loaded(error=f"{origin}: cannot read {path} ({err.strerror or err})", origin=origin)


def _sweep_scenario(opened: OpenedSweep) -> Loaded:
    """The swept scenario: its original file when unchanged since, else the sweep's own copy."""
    if opened.source is None:
        return Loaded(error=opened.error)
    manifest = opened.source.manifest
    original = manifest.get("scenario_file")
    if original and Path(original).is_file():
        loaded = _load(Path(original), f"scenario of {opened.path}")
        if loaded.scenario is not None and _digest(loaded.scenario) == manifest.get("scenario_sha256"):
            return loaded
    copy = opened.path / "scenario.yaml"
    if copy.is_file():
        loaded = _load(copy, f"scenario of {opened.path}")
        if loaded.scenario is not None:
            return loaded
        return Loaded(error=f"{loaded.error} (runs of this sweep cannot be replayed)")
    return Loaded(error=f"{opened.path}: no scenario.yaml and {original or 'no scenario file'} is gone "
                        "or edited since the sweep; its runs cannot be replayed")


def _digest(scenario: Any) -> str:
    from twinworld.experiments.sweep import scenario_digest

    try:
        return scenario_digest(scenario)
    except Exception:  # a digest that cannot be made matches nothing
        return hashlib.sha256(b"").hexdigest()


def build_context(options: DashboardOptions, *, log: Callable[[str, str], None] | None = None) -> Context:
    """Open everything the options name; problems become messages (and lines on ``log``)."""
    messages: list[tuple[str, str]] = []

    def note(level: str, text: str) -> None:
        messages.append((level, text))
        if log is not None:
            log(level, text)

    from twinworld.dashboard.ranking import prewarm

    sweeps = {}
    for i, path in enumerate(options.sweeps):
        opened = open_sweep(path)
        sweeps[str(i)] = opened
        if opened.error:
            note("error", opened.error)
        for text in opened.notes:
            note("warning", text)
        if opened.source is not None:
            opened.warming = prewarm(opened.source)
    if options.scenario is not None:
        scenario = _load(options.scenario, str(options.scenario))
    else:
        first = next((k for k, s in sweeps.items() if s.source is not None), None)
        scenario = _sweep_scenario(sweeps[first]) if first is not None else \
            Loaded(error="no scenario: give --scenario FILE (or a sweep folder) for the map and replays")
    if scenario.error:
        note("error" if options.scenario is not None or sweeps else "info", scenario.error)
    context = Context(options, scenario, sweeps, messages=messages)
    if options.twin:
        context.live = _start_live(options, scenario.scenario, note)
    return context


def _start_live(options: DashboardOptions, scenario: Any, note: Callable[[str, str], None]) -> Any:
    from twinworld.dashboard.live import live_prefix, start_live

    host, port = parse_broker(options.twin or "")
    telemetry = None
    if scenario is not None:
        from twinworld.twin.channels import telemetry_for

        telemetry = telemetry_for(scenario)
    live = start_live(host, port, prefix=live_prefix(scenario, options.topic_prefix), telemetry=telemetry)
    checked = "checked against the scenario's telemetry contract" if telemetry else "any scenario, JSON only"
    note("info", f"live view: watching {live.subscription} on {host}:{port} ({checked})")
    return live


def guarded_text(err: BaseException) -> str:
    """One line for a failure inside a view (the full traceback only with TWINWORLD_DEBUG=1)."""
    import os
    import traceback

    if isinstance(err, TwinworldError):
        return str(err)
    text = f"{type(err).__name__}: {err}"
    if os.environ.get("TWINWORLD_DEBUG"):
        traceback.print_exception(err, file=sys.stderr)
    return f"internal error ({text}); run with TWINWORLD_DEBUG=1 for details"

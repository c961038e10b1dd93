"""How much work a scenario asks for, and the limits that refuse a run before it hangs.

Each system plugin estimates the events one of its runs processes (``estimate_events``); a run's
estimate is the sum over systems under the strategy that makes it largest. A run estimated above
:data:`~twinworld.limits.MAX_RUN_EVENTS`, or a sweep of more than
:data:`~twinworld.limits.MAX_SWEEP_RUNS` runs, is refused at load time unless the user allows
large work (``--allow-large``, ``allow_large=True`` or ``TWINWORLD_ALLOW_LARGE=1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twinworld.errors import Problem
from twinworld.limits import (
    ALLOW_LARGE_ENV,
    MAX_RUN_EVENTS,
    MAX_SWEEP_RUNS,
    allow_large_from_env,
)

__all__ = ["RunEstimate", "estimate_run", "large_allowed", "work_problems"]

_LIFT = f"or pass --allow-large ({ALLOW_LARGE_ENV}=1) to run it anyway"


@dataclass(frozen=True)
class RunEstimate:
    """The largest run of a scenario: events in all, per system, and the strategy that makes it."""

    events: float
    strategy: str
    per_system: dict[str, float] = field(default_factory=dict)

    @property
    def largest_system(self) -> str | None:
        return max(self.per_system, key=self.per_system.__getitem__) if self.per_system else None


def large_allowed(allow_large: bool | None) -> bool:
    """``allow_large`` if given, else the ``TWINWORLD_ALLOW_LARGE`` environment variable."""
    return allow_large_from_env() if allow_large is None else bool(allow_large)


def estimate_run(scenario: Any, registry: Any = None) -> RunEstimate:
    """Upper-end events of one run, maximised over the scenario's strategies."""
    from twinworld.systems.base import target_system

    registry = registry or scenario.registry
    aimed: dict[str, list[Any]] = {name: [] for name in scenario.systems}
    for disruption in scenario.disruptions:
        aimed.setdefault(target_system(disruption.target), []).append(disruption)
    best = RunEstimate(0.0, "baseline")
    for strategy, parts in scenario.strategies.items():
        per_system = {}
        for name, config in scenario.systems.items():
            estimator = getattr(registry.get(config.kind), "estimate_events", None)
            if estimator is not None:
                per_system[name] = float(estimator(config, float(scenario.horizon),
                                                   tuple(aimed[name]), tuple(parts.get(name, ()))))
        total = sum(per_system.values())
        if total > best.events or not best.per_system:
            best = RunEstimate(total, strategy, per_system)
    return best


def work_problems(scenario: Any, registry: Any = None, *, allow_large: bool | None = None) -> list[Problem]:
    """A problem for a run or a sweep too large to finish, unless large work is allowed."""
    if large_allowed(allow_large):
        return []
    problems = []
    estimate = estimate_run(scenario, registry)
    if estimate.events > MAX_RUN_EVENTS:
        system = estimate.largest_system
        problems.append(Problem(
            f"one run would process about {estimate.events:.2g} events (strategy "
            f"{estimate.strategy!r}), above the limit of {MAX_RUN_EVENTS:.0e}; shorten the horizon, "
            f"lower the rates or lengthen the steps, {_LIFT}",
            f"systems.{system}" if system else "horizon"))
    sweep = scenario.sweep
    runs = sweep.scenarios * sweep.replications * len(scenario.strategies)
    if runs > MAX_SWEEP_RUNS:
        problems.append(Problem(
            f"the sweep has {runs:,} runs ({sweep.scenarios:,} samples x {len(scenario.strategies)} "
            f"strategies x {sweep.replications} replications), above the limit of {MAX_SWEEP_RUNS:,}; "
            f"sweep fewer samples, {_LIFT}", "sweep.scenarios"))
    return problems

"""How large one run of a power grid is: an upper-end estimate of its work, in SimPy events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twinworld.systems.workload import low

__all__ = ["estimate_events"]

#: Work of one flow update, in events, on top of one event per branch (vectorised DC flow).
EVENTS_PER_UPDATE = 100


def _branches(config: Any) -> int:
    """Branches of the case when it is already read (bundled or prepared), else a large guess."""
    try:
        from twinworld.systems.grid.engine import cached_case
        from twinworld.systems.grid.model import case_source

        if config.source.pandapower is None and config.source.digest is None:
            return 10_000
        return int(cached_case(case_source(config), config.source.digest).n_branch)
    except Exception:
        return 10_000


def estimate_events(config: Any, horizon_h: float, disruptions: Sequence[Any],
                    levers: Sequence[Any]) -> float:
    """Load steps and rotation blocks, each a flow update costing about one event per branch."""
    updates = horizon_h / float(config.step)
    for lever in levers:
        if lever.kind == "rotating_outages":
            updates += horizon_h / max(low(lever.block), 1e-9)
    updates += 10 * len(disruptions)
    return updates * (EVENTS_PER_UPDATE + _branches(config))

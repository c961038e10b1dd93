"""Ambulance dispatch as a decision: where to take an emergency patient.

At each call (a decision epoch: the moment a patient would reach their home hospital) the crew
looks at the home hospital's declared diversion status. If it is accepting, the patient goes home.
If it is on diversion and the crew follows diversions (a share of crews do, drawn per call from
the region's ``dispatch`` stream), the crew chooses among the region's hospital agents (a Mesa
``select`` over them) the nearest one that is accepting, by the region's road travel times, within
its longest allowed drive; the patient reaches it that many minutes later. When every other
hospital is on diversion too, or too far, the patient goes home and boards there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from twinworld.systems.hospital.model import HospitalRegion, Patient

__all__ = ["Dispatcher"]


class Dispatcher:
    """The crews' choice of hospital for one region.

    Parameters
    ----------
    region
        The hospital region (its hospital agents, travel times and clock).
    rule
        The ``ambulances:`` section or the ``divert_ambulances`` lever (``max_travel_min``,
        ``respect_diversion``).
    rng
        The region's ``dispatch`` stream.
    """

    def __init__(self, region: "HospitalRegion", rule: Any, rng: np.random.Generator) -> None:
        self.region = region
        self.max_travel_min = float(rule.max_travel_min)
        self.respect = float(rule.respect_diversion)
        self.rng = rng
        self.records: list[tuple[float, str, str, float]] = []

    def route(self, patient: "Patient") -> bool:
        """Send a patient whose home hospital is on diversion elsewhere. Returns True if the
        patient is on the way to another hospital (it arrives there later)."""
        home = patient.home
        if home.accepting is not False:
            return False
        if self.respect < 1.0 and self.rng.random() >= self.respect:
            return False
        region = self.region
        reach = region.travel_min[home.name]
        limit = self.max_travel_min
        open_ = region.agents.select(lambda agent: agent.state is not home and agent.state.accepting
                                     and reach[agent.name] <= limit)
        if not open_:
            return False
        target = min(open_, key=lambda agent: (reach[agent.name], agent.name)).state
        minutes = float(reach[target.name])
        env = region.env
        home.counts["diverted_out"] += 1
        target.counts["diverted_in"] += 1
        self.records.append((env.now, home.name, target.name, minutes))
        patient.home = patient.at = target

        def reach_it(_event: Any) -> None:
            patient.arrived_h = env.now        # its wait for a bed starts at the door
            region.arrive(patient, by_ambulance=False)

        env.timeout(minutes / 60.0).callbacks.append(reach_it)
        return True

    def extra_minutes(self, since_h: float) -> float:
        """Minutes driven beyond the home hospitals, for calls from ``since_h`` on."""
        return float(sum(minutes for time, _, _, minutes in self.records if time >= since_h))

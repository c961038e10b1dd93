"""What a live feed can tell about a port now: vessels at anchor and at berth, berths and yard."""

from __future__ import annotations

from pydantic import Field

from twinworld.systems.base import ObservedState

__all__ = ["AnchoredVessel", "BerthState", "PortState"]

MAX_TEU = 100_000.0     # per call: the largest container ships carry about 24,000 TEU
MAX_YARD_TEU = 10_000_000.0


class AnchoredVessel(ObservedState):
    """A vessel waiting at the anchorage for a berth."""

    name: str = Field(min_length=1, max_length=200)
    teu: float = Field(gt=0, le=MAX_TEU, description="TEU to move when it berths")
    waiting_h: float = Field(0.0, ge=0, le=1e5, description="how long it has waited so far")


class BerthState(ObservedState):
    """One berth: the vessel at it (if any), what is left to move, whether it works."""

    vessel: str | None = Field(None, max_length=200, description="vessel at the berth; empty = free")
    teu: float = Field(0.0, ge=0, le=MAX_TEU, description="the call's TEU")
    teu_left: float = Field(0.0, ge=0, le=MAX_TEU, description="TEU still to move")
    open: bool = Field(True, description="false while the berth is closed")
    cranes_out: int = Field(0, ge=0, le=100, description="quay cranes out of service")


class PortState(ObservedState):
    """A port's state now. Berths are named ``B1``, ``B2`` ... as in the scenario."""

    open: bool = Field(True, description="false while the whole port is closed")
    anchorage: list[AnchoredVessel] = Field(default_factory=list, max_length=10_000)
    berths: dict[str, BerthState] = Field(default_factory=dict)
    yard_teu: float = Field(0.0, ge=0, le=MAX_YARD_TEU, description="import TEU in the yard")
    ready_teu: float = Field(0.0, ge=0, le=MAX_YARD_TEU, description="of which ready for pickup")

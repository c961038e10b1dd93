"""What a responder can do for a port."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twinworld.limits import MAX_LIST_ITEMS, MAX_MULTIPLIER
from twinworld.params import duration, param
from twinworld.systems.base import StrategyConfig

__all__ = ["Divert", "ExtraShifts", "PriorityBerthing", "STRATEGIES"]


class Divert(StrategyConfig):
    """Send vessels that have waited at the anchorage longer than ``after`` to another port.

    A diverted vessel's cargo reaches its destination ``extra_sailing`` later than planned (the
    detour plus the other port's call); that delay counts in ``mean_delay_per_call_h``.
    """

    kind: Literal["divert"]
    after: Annotated[float, duration(ge=0)] = Field(48.0, description="anchorage wait after which a vessel is diverted")
    to: str = Field("alternative port", description="where they go (a label in the results)")
    extra_sailing: Annotated[float, duration(ge=0)] = Field(24.0, description="extra time the diverted cargo takes")


class ExtraShifts(StrategyConfig):
    """Work the cranes harder (overtime, an extra gang) while the anchorage queue is long."""

    kind: Literal["extra_shifts"]
    productivity_gain: Annotated[float, param(ge=0, le=MAX_MULTIPLIER)] = Field(
        0.25, description="extra crane moves per hour, as a share")
    when_queue_at_least: int = Field(
        1, ge=0, le=MAX_LIST_ITEMS, description="vessels at anchorage that trigger it (0: always)")


class PriorityBerthing(StrategyConfig):
    """Choose the next vessel to berth by a rule instead of first come, first served.

    ``shortest_first`` berths the call with the fewest TEU (shortest processing time: the smallest
    mean wait); ``largest_first`` the call with the most TEU (big ships first, as some carriers'
    contracts require).
    """

    kind: Literal["priority_berthing"]
    rule: Literal["shortest_first", "largest_first"] = "shortest_first"


STRATEGIES = (Divert, ExtraShifts, PriorityBerthing)

"""Interdependencies between systems: a provider's service drives a consumer's capacity.

A provider system publishes service levels on the World's service board (``grid.bus.12`` is 1.0
while the bus is energised, 0.0 when dark). A coupling subscribes to one key and, when the level
drops, lets the consumer ride on its buffer (``backup_h``: generator fuel, safety stock); if the
outage outlasts the buffer, the consumer loses ``loss_share`` of its capacity until the provider is
back and ``recovery_h`` has passed. Consumers implement :meth:`System.degrade`.

This is how cascades happen: storm -> line trips -> bus dark -> hospital on generator -> fuel runs
out -> beds lost -> patients transferred or turned away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twinworld.systems.base import target_element, target_system

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["apply_couplings", "CouplingLink"]


class CouplingLink:
    """One provider -> consumer dependency during one run."""

    def __init__(self, world: "World", index: int, provider: str, consumer: str, *, backup_h: float,
                 loss_share: float, recovery_h: float, kind: str = "power") -> None:
        self.world = world
        self.kind = kind
        self.cause = f"coupling{index}:{provider}"
        self.consumer = world.systems[target_system(consumer)]
        self.element = target_element(consumer)
        self.backup_h, self.loss_share, self.recovery_h = backup_h, loss_share, recovery_h
        self._outage = 0          # counts outages so stale timers do nothing
        self.degraded = False
        world.services.subscribe(provider, self.changed)

    def changed(self, key: str, level: float) -> None:
        self._outage += 1
        ticket = self._outage
        now = self.world.now
        if level < 1.0:
            self.world.recorder.event("service_lost", f"{key} -> {self.consumer.name}.{self.element or '*'}")
            self.world.at(now + self.backup_h, lambda: self._buffer_spent(ticket))
        elif self.degraded:
            self.world.at(now + self.recovery_h, lambda: self._recovered(ticket))

    def _buffer_spent(self, ticket: int) -> None:
        if ticket == self._outage and not self.degraded:
            self.degraded = True
            self.world.recorder.count("coupling.degradations")
            self.world.recorder.event("buffer_spent", f"{self.cause} -> {self.consumer.name}.{self.element or '*'}")
            self.consumer.degrade(self.element, self.loss_share, cause=self.cause, kind=self.kind)

    def _recovered(self, ticket: int) -> None:
        if ticket == self._outage and self.degraded:
            self.degraded = False
            self.consumer.degrade(self.element, 0.0, cause=self.cause, kind=self.kind)


def apply_couplings(world: "World", couplings: list[Any]) -> list[CouplingLink]:
    """Wire every (resolved) coupling of a scenario into ``world``; call before systems start."""
    return [CouplingLink(world, i, c.provider, c.consumer, backup_h=float(c.backup_h),
                         loss_share=float(c.loss_share), recovery_h=float(c.recovery_h), kind=c.kind)
            for i, c in enumerate(couplings)]

"""Interdependencies between systems: a provider's service drives a consumer's capacity or inputs.

Two shapes of coupling, both declared in a scenario's ``couplings:`` and checked against the
plugins' declarations (:mod:`twinworld.scenario.contract`):

- **Levels** (``power``, ``supply``, ``port_supply`` from ``port.open``): the provider publishes a
  level (1.0 fully served). While it is below 1 the consumer rides on its buffer for ``backup_h``
  hours (generator fuel, days of stock); if the outage outlasts it the consumer loses
  ``loss_share`` x (1 - level) of its capacity until the provider is back and ``recovery_h`` has
  passed (:meth:`System.degrade`).
- **Quantities** (``road_travel`` from ``roads.travel_min``, ``casualties`` from
  ``roads.casualties``, ``priority`` from ``hospitals.occupancy``, ``port_supply`` from
  ``port.wait_h``): every value the provider publishes is handed to the consumer as it comes
  (:meth:`System.feed`), with the provider's element names; the provider may be a whole family of
  keys (``roads.travel_min``: every pair of places).

Every degradation is recorded in the World's cascade log with its cause: the provider's drop,
itself caused by what was active on the provider (a disruption or an upstream degradation). This
is how a storm -> line trips -> bus dark -> hospital on generator -> fuel runs out -> beds lost ->
patients turned away becomes data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from twinworld.systems.base import target_element, target_system

if TYPE_CHECKING:
    from twinworld.core.world import World
    from twinworld.systems.base import SystemPlugin

__all__ = ["apply_couplings", "CouplingLink", "FeedLink", "LEVEL_KINDS", "FEED_KINDS"]

#: Kinds that act on a level (0..1) with a buffer, and kinds that hand quantities over as they come.
LEVEL_KINDS = ("power", "supply", "port_supply")
FEED_KINDS = ("road_travel", "casualties", "priority", "port_supply")


class CouplingLink:
    """One provider level -> consumer capacity dependency during one run."""

    def __init__(self, world: World, index: int, provider: str, consumer: str, *, backup_h: float,
                 loss_share: float, recovery_h: float, kind: str = "power") -> None:
        self.world = world
        self.kind = kind
        self.cause = f"coupling{index}:{provider}"
        self.consumer = world.systems[target_system(consumer)]
        self.element = target_element(consumer)
        self.backup_h, self.loss_share, self.recovery_h = backup_h, loss_share, recovery_h
        self._episode = 0         # counts returns of the provider, so stale timers do nothing
        self._counting = False    # the buffer is being used up
        self.degraded = False
        self.level = 1.0
        self._event: int | None = None   # the consumer's degradation in the cascade log
        world.services.subscribe(provider, self.changed, level=True)

    @property
    def where(self) -> str:
        return f"{self.consumer.name}.{self.element or '*'}"

    def changed(self, key: str, level: float) -> None:
        now = self.world.now
        self.level = level
        if level < 1.0:
            self.world.recorder.event("service_lost", f"{key} -> {self.where}")
            cause = self.world.services.cause(key)
            if self.degraded:          # past the buffer already: the loss follows the level at once
                self._degrade(cause)
            elif not self._counting:   # the buffer runs from the first drop
                self._counting = True
                episode = self._episode
                self.world.at(now + self.backup_h, lambda: self._buffer_spent(episode, cause))
            return
        self._episode += 1
        self._counting = False
        if self.degraded:
            episode = self._episode
            self.world.at(now + self.recovery_h, lambda: self._recovered(episode))

    def _buffer_spent(self, episode: int, cause: int | None) -> None:
        if episode == self._episode and not self.degraded and self.level < 1.0:
            self.degraded = True
            self._counting = False
            self.world.recorder.count("coupling.degradations")
            self.world.recorder.event("buffer_spent", f"{self.cause} -> {self.where}")
            self._degrade(cause)

    def _degrade(self, cause: int | None) -> None:
        share = self.loss_share * (1.0 - self.level)
        log = self.world.cascade
        if self._event is not None:
            log.deactivate(self.consumer.name, self.element, self._event)
        self._event = log.record(self.world.now, self.consumer.name, self.element, "degraded",
                                 f"-{share:.0%} capacity ({self.kind}, after {self.backup_h:.1f} h of buffer)",
                                 cause)
        log.activate(self.consumer.name, self.element, self._event)
        self.consumer.degrade(self.element, share, cause=self.cause, kind=self.kind)

    def _recovered(self, episode: int) -> None:
        if episode == self._episode and self.degraded and self.level >= 1.0:
            self.degraded = False
            if self._event is not None:
                self.world.cascade.deactivate(self.consumer.name, self.element, self._event)
                self._event = None
            self.consumer.degrade(self.element, 0.0, cause=self.cause, kind=self.kind)


class FeedLink:
    """One provider quantity (or family of quantities) -> consumer input, handed over as published."""

    def __init__(self, world: World, index: int, provider: str, consumer: str, *, kind: str,
                 family: bool) -> None:
        self.world = world
        self.kind = kind
        self.cause = f"coupling{index}:{provider}"
        self.provider = provider
        self.consumer = world.systems[target_system(consumer)]
        self.element = target_element(consumer)
        if family:
            world.services.subscribe_prefix(provider + ".", self.changed)
        else:
            world.services.subscribe(provider, self.changed)

    def changed(self, key: str, value: float) -> None:
        elements = tuple(key[len(self.provider) + 1:].split(".")) if key != self.provider else ()
        cause = self.world.cascade.active(key.partition(".")[0])
        self.consumer.feed(self.kind, elements, value, element=self.element, cause=cause)


def apply_couplings(world: World, couplings: list[Any],
                    plugins: Mapping[str, SystemPlugin]) -> list[CouplingLink | FeedLink]:
    """Wire every (resolved) coupling of a scenario into ``world``; call before systems start.

    ``plugins`` maps each system name to its plugin. Whether a coupling is a level or a feed
    follows from the provider's declared service: a quantity, or a whole family of keys, is fed;
    a level drives capacity through the buffer. The scenario layer has checked that kinds fit.
    """
    links: list[CouplingLink | FeedLink] = []
    for i, c in enumerate(couplings):
        system, _, rest = str(c.provider).partition(".")
        plugin = plugins[system]
        family = plugin.family_for(rest)
        service = family or plugin.service_shaped(rest)
        if family is not None or (service is not None and not service.is_level):
            links.append(FeedLink(world, i, c.provider, c.consumer, kind=c.kind, family=family is not None))
        else:
            links.append(CouplingLink(world, i, c.provider, c.consumer, backup_h=float(c.backup_h),
                                      loss_share=float(c.loss_share), recovery_h=float(c.recovery_h),
                                      kind=c.kind))
    return links

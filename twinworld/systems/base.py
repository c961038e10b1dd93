"""The contract every modelled system fulfils (hospital, port, supply network, traffic, grid).

A system plugin is data: its YAML section's model, the disruptions it understands, the strategies a
responder may apply to it, the KPIs it measures (with direction), a builder, and a cross-reference
check. The registry (:mod:`twinworld.scenario.registry`) finds plugins through the
``twinworld.systems`` entry point group.

A run (``twinworld.experiments.run``) does, for each system in the scenario::

    system = plugin.build(world, name, config)        # config is resolved: no distributions left
    system.disrupt(disruption)  for each disruption targeting it
    system.respond(strategy)    for each strategy part aimed at it
    system.start()                                   # add SimPy processes to world.env
    world.run()
    system.kpis()                                    # flat dict name -> float
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from twinworld.params import DurationParam

if TYPE_CHECKING:
    import pandas as pd

    from twinworld.core.world import World
    from twinworld.errors import Problem

__all__ = ["Frozen", "SystemConfig", "DisruptionConfig", "StrategyConfig", "KPI", "System",
           "SystemPlugin", "target_system", "target_element"]


class Frozen(BaseModel):
    """Base of every scenario model: immutable, and unknown fields are errors (typos caught).

    Non-finite numbers (NaN, infinity) are refused in every float field: NaN passes every ``>=``
    check, so a bound alone would let it through.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False, allow_inf_nan=False)


class SystemConfig(Frozen):
    """A system's YAML section. Subclasses set ``kind: Literal["..."]``."""

    kind: str


class DisruptionConfig(Frozen):
    """Something that goes wrong to one system, over a window of simulated time.

    ``target`` is a system name (``port``) or a system element (``hospitals.H2``). ``start`` and
    ``duration`` may be distributions; no ``duration`` means until the end of the horizon.
    """

    kind: str
    target: str = Field(description="system name, or system.element (e.g. hospitals.H2)")
    name: str | None = Field(None, description="label used in results and scenario discovery")
    start: DurationParam = Field(0.0, description="when it begins (from the start of the run)")
    duration: DurationParam | None = Field(None, description="how long it lasts; empty = to the end")

    def window(self, horizon_h: float) -> tuple[float, float]:
        """``(start_h, end_h)`` after resolution (all values plain floats)."""
        start = float(self.start)  # type: ignore[arg-type]
        end = horizon_h if self.duration is None else start + float(self.duration)  # type: ignore[arg-type]
        return start, min(end, horizon_h)


class StrategyConfig(Frozen):
    """One lever a responder pulls on one system. Subclasses set ``kind: Literal["..."]``."""

    kind: str


def target_system(target: str) -> str:
    """``"hospitals.H2"`` -> ``"hospitals"``."""
    return target.split(".", 1)[0]


def target_element(target: str) -> str | None:
    """``"hospitals.H2"`` -> ``"H2"``; ``"hospitals"`` -> None."""
    parts = target.split(".", 1)
    return parts[1] if len(parts) == 2 else None


@dataclass(frozen=True)
class KPI:
    """A measured outcome and which way is better."""

    name: str
    direction: Literal["minimize", "maximize"]
    unit: str = ""
    description: str = ""


class System:
    """Live state and SimPy processes of one system in one run. Subclass per system."""

    kind: ClassVar[str] = ""

    def __init__(self, world: "World", name: str, config: SystemConfig) -> None:
        self.world = world
        self.name = name
        self.config = config

    def disrupt(self, disruption: DisruptionConfig) -> None:
        """Schedule a (resolved) disruption. Default: refuse."""
        raise NotImplementedError(f"{self.kind} cannot take disruption {disruption.kind!r}")

    def respond(self, strategy: StrategyConfig) -> None:
        """Apply a (resolved) strategy before the run starts. Default: refuse."""
        raise NotImplementedError(f"{self.kind} cannot apply strategy {strategy.kind!r}")

    def degrade(self, element: str | None, share_lost: float, *, cause: str) -> None:
        """Lose ``share_lost`` of an element's capacity (0.0 restores it) because a provider failed.

        Called by couplings (:mod:`twinworld.coupling`); ``cause`` identifies the coupling so that
        several can act on one element. Default: this system cannot be a consumer.
        """
        raise NotImplementedError(f"{self.kind} cannot depend on another system's service")

    def start(self) -> None:
        """Add this system's processes to ``world.env``."""

    def kpis(self) -> dict[str, float]:
        """The run's outcomes, after ``world.run()``."""
        return {}

    def tables(self) -> dict[str, "pd.DataFrame"]:
        """Optional detailed tables (events, per-facility results)."""
        return {}


@dataclass(frozen=True)
class SystemPlugin:
    """Everything twinworld needs to know about one kind of system.

    Parameters
    ----------
    kind
        The ``kind:`` written in a scenario's ``systems:`` section.
    config
        Pydantic model of that section.
    disruptions, strategies
        Models of the disruptions and strategies this system understands, each with a distinct
        ``kind`` literal.
    kpis
        What it measures.
    build
        ``build(world, name, config) -> System`` for one run.
    check
        Cross-reference checks on a validated scenario: ``check(scenario, name, config)`` returns
        problems (targets that do not exist, ...), each with a field path.
    prepare
        Read file references at load time (through ``twinworld.feeds``), returning a config with
        the data inline or with content keys for the per-process cache. ``prepare(config, base_dir)``.
    elements
        Names of a config's elements that ``system.element`` targets may name (berths, warehouses).
    estimate_events
        ``estimate_events(config, horizon_h, disruptions, levers) -> float``: an upper-end guess
        of the events one run processes under one strategy's ``levers`` (see
        :mod:`twinworld.scenario.workload`); runs above the limit are refused at load time.
    """

    kind: str
    config: type[SystemConfig]
    build: Callable[["World", str, Any], System]
    disruptions: tuple[type[DisruptionConfig], ...] = ()
    strategies: tuple[type[StrategyConfig], ...] = ()
    kpis: tuple[KPI, ...] = ()
    check: Callable[[Any, str, Any], list["Problem"]] | None = None
    prepare: Callable[[Any, Any], Any] | None = None
    description: str = ""
    elements: Callable[[Any], list[str]] | None = None
    estimate_events: Callable[[Any, float, tuple[Any, ...], tuple[Any, ...]], float] | None = None

    def disruption_model(self, kind: str) -> type[DisruptionConfig] | None:
        return next((m for m in self.disruptions if _literal_kind(m) == kind), None)

    def strategy_model(self, kind: str) -> type[StrategyConfig] | None:
        return next((m for m in self.strategies if _literal_kind(m) == kind), None)

    @property
    def disruption_kinds(self) -> list[str]:
        return [_literal_kind(m) for m in self.disruptions]

    @property
    def strategy_kinds(self) -> list[str]:
        return [_literal_kind(m) for m in self.strategies]

    def kpi(self, name: str) -> KPI | None:
        return next((k for k in self.kpis if k.name == name), None)


def _literal_kind(model: type[Frozen]) -> str:
    annotation = model.model_fields["kind"].annotation
    args = getattr(annotation, "__args__", ())
    if not args:
        raise TypeError(f"{model.__name__}.kind must be a Literal")
    return str(args[0])

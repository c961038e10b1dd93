"""The contract every modelled system fulfils (hospital, port, supply network, traffic, grid).

A system plugin is data that the scenario layer checks generically (PyPSA's components as data,
not five copies of the same checks). It declares:

- ``elements``: what ``system.element`` targets may name, each with an element type
  (``hospital``, ``berth``, ``warehouse``, ``bus``, ``place`` ...);
- ``services``: what the system publishes on the World's service board, as key patterns with a
  meaning, a unit and a range (``bus.{bus}`` a level 0..1; ``travel_min.{place}.{place}`` minutes);
- ``consumes``: which coupling kinds each element type accepts and what capacity they act on;
- ``observable``: a pydantic model of the state a live feed can report now; a run can start from
  such a state (:meth:`System.warm_start`) and report it (:meth:`System.observe`);
- ``kpis`` (with a :class:`Direction` and a unit) and ``streams`` (its random stream names).

A run (``twinworld.experiments.run``) does, for each system in the scenario::

    system = plugin.build(world, name, config)        # config is resolved: no distributions left
    system.disrupt(disruption)  for each disruption targeting it
    system.respond(strategy)    for each strategy part aimed at it
    system.warm_start(state)    if the run starts from an observed state
    system.start()                                   # add SimPy processes to world.env
    world.run()
    system.kpis()                                    # flat dict name -> float
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from twinworld.params import DurationParam

if TYPE_CHECKING:
    import pandas as pd

    from twinworld.core.world import World
    from twinworld.errors import Problem

__all__ = ["Frozen", "SystemConfig", "DisruptionConfig", "StrategyConfig", "KPI", "Direction",
           "Service", "Consumes", "ObservedState", "System", "SystemPlugin", "SYSTEM",
           "COUPLING_KINDS", "element_field", "element_refs", "target_system", "target_element"]

#: The element type of a target that names a whole system (``hospitals`` rather than ``hospitals.H1``).
SYSTEM = "system"

#: Coupling kinds a consumer may declare (see :mod:`twinworld.coupling`).
COUPLING_KINDS = ("power", "road_travel", "port_supply", "supply", "casualties", "priority")


class Frozen(BaseModel):
    """Base of every scenario model: immutable, and unknown fields are errors (typos caught).

    Non-finite numbers (NaN, infinity) are refused in every float field: NaN passes every ``>=``
    check, so a bound alone would let it through.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False, allow_inf_nan=False)


class SystemConfig(Frozen):
    """A system's YAML section. Subclasses set ``kind: Literal["..."]``."""

    kind: str


def element_field(element_type: str, default: Any = None, *, description: str = "", **constraints: Any) -> Any:
    """A field naming elements of the system (one name or a list), checked against the contract.

    ``hospitals: list[str] | None = element_field("hospital", description="where")`` makes the
    scenario layer report any name that is not a hospital of the system, with the valid names.
    """
    return Field(default, description=description, json_schema_extra={"element_type": element_type},
                 **constraints)


def element_refs(model: BaseModel) -> list[tuple[str, str, list[str]]]:
    """``(field path, element type, names)`` of every :func:`element_field` in ``model``, nested too."""
    found: list[tuple[str, str, list[str]]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        element_type = extra.get("element_type")
        if element_type is not None and value is not None:
            names = [value] if isinstance(value, str) else [str(v) for v in value]
            found.append((name, str(element_type), names))
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                prefix = f"{name}.{index}" if isinstance(value, (list, tuple)) else name
                found += [(f"{prefix}.{path}", kind, names) for path, kind, names in element_refs(item)]
    return found


class DisruptionConfig(Frozen):
    """Something that goes wrong to one system, over a window of simulated time.

    ``target`` is a system name (``port``) or a system element (``hospitals.H2``); ``targets``
    declares which element types a disruption kind may hit (:data:`SYSTEM` for the whole system).
    ``start`` and ``duration`` may be distributions; no ``duration`` means until the end of the
    horizon.
    """

    targets: ClassVar[tuple[str, ...]] = (SYSTEM,)

    kind: str
    target: str = Field(description="system name, or system.element (e.g. hospitals.H2)")
    name: str | None = Field(None, description="label used in results and scenario discovery")
    start: DurationParam = Field(0.0, description="when it begins (from the start of the run)")
    duration: DurationParam | None = Field(None, description="how long it lasts; empty = to the end")

    def window(self, horizon_h: float) -> tuple[float, float]:
        """``(start_h, end_h)`` after resolution (all values plain floats)."""
        start = float(self.start)  # resolved: a float by now
        end = horizon_h if self.duration is None else start + float(self.duration)
        return start, min(end, horizon_h)

    def effect_window(self, horizon_h: float) -> tuple[float, float]:
        """When the disruption acts on its system at all (a flood's wet roads come before its
        onset): the span in which it is the cause of what goes wrong there."""
        return self.window(horizon_h)

    def check(self, system: SystemConfig) -> list[Problem]:
        """Problems of this disruption against its target system's (prepared) config.

        Paths are relative to the disruption (``cranes``, ``polygon``). Only checks that need the
        system's data belong here; element names are checked generically.
        """
        return []


class StrategyConfig(Frozen):
    """One lever a responder pulls on one system. Subclasses set ``kind: Literal["..."]``."""

    kind: str

    def check(self, system: SystemConfig) -> list[Problem]:
        """Problems of this lever against its system's (prepared) config (paths relative to it)."""
        return []


def target_system(target: str) -> str:
    """``"hospitals.H2"`` -> ``"hospitals"``."""
    return target.split(".", 1)[0]


def target_element(target: str) -> str | None:
    """``"hospitals.H2"`` -> ``"H2"``; ``"hospitals"`` -> None."""
    parts = target.split(".", 1)
    return parts[1] if len(parts) == 2 else None


class Direction(enum.StrEnum):
    """Which way a KPI is better."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @property
    def sign(self) -> float:
        """+1 when lower is better, -1 when higher is better (multiply to minimise)."""
        return 1.0 if self is Direction.MINIMIZE else -1.0


@dataclass(frozen=True)
class KPI:
    """A measured outcome, which way is better, and its unit."""

    name: str
    direction: Direction
    unit: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))


@dataclass(frozen=True)
class Service:
    """A service a system publishes on the World's service board.

    Parameters
    ----------
    pattern
        The key after the system's name, with element types in braces: ``bus.{bus}``, ``open``,
        ``travel_min.{place}.{place}``. The published key is ``<system>.<pattern filled in>``.
    meaning
        What the value says, in words.
    unit
        ``"level"`` for a share of full service (1.0 fully served, 0.0 out), else the unit of a
        quantity (``min``, ``units``, ``h``).
    low, high
        The range of the value (``high`` may be ``math.inf`` for a quantity).
    kinds
        The coupling kinds this service can drive (a grid bus: ``power``).
    """

    pattern: str
    meaning: str
    unit: str = "level"
    low: float = 0.0
    high: float = 1.0
    kinds: tuple[str, ...] = ()

    @property
    def is_level(self) -> bool:
        return self.unit == "level"

    @property
    def parts(self) -> list[str]:
        return self.pattern.split(".")

    @property
    def element_types(self) -> list[str]:
        """The element types filling the pattern's placeholders, in order."""
        return [p[1:-1] for p in self.parts if p.startswith("{") and p.endswith("}")]

    def key(self, system: str, *elements: str) -> str:
        """The published key for ``system`` and the placeholder values, in order."""
        values = iter(elements)
        filled = [next(values) if p.startswith("{") else p for p in self.parts]
        return ".".join([system, *filled])

    @property
    def family(self) -> str:
        """The fixed words before the first placeholder (``travel_min`` of ``travel_min.{a}.{b}``)."""
        fixed = []
        for part in self.parts:
            if part.startswith("{"):
                break
            fixed.append(part)
        return ".".join(fixed)

    def is_family(self, rest: str) -> bool:
        """``rest`` names every key of this service at once (its family, when it has placeholders)."""
        return bool(self.element_types) and rest == self.family

    def match(self, rest: str, elements: Mapping[str, str]) -> list[str] | None:
        """The element names filling the placeholders if ``rest`` (a key without its system name)
        matches this pattern with names of ``elements`` (name -> element type), else None.

        Element names may themselves contain dots; every split is tried.
        """
        return _match(self.parts, rest.split("."), elements)


def _match(pattern: list[str], words: list[str], elements: Mapping[str, str]) -> list[str] | None:
    if not pattern:
        return [] if not words else None
    head, rest = pattern[0], pattern[1:]
    if not (head.startswith("{") and head.endswith("}")):
        if words and words[0] == head:
            return _match(rest, words[1:], elements)
        return None
    element_type = head[1:-1]
    for cut in range(1, len(words) - len(rest) + 1):
        name = ".".join(words[:cut])
        if elements.get(name) == element_type:
            tail = _match(rest, words[cut:], elements)
            if tail is not None:
                return [name, *tail]
    return None


@dataclass(frozen=True)
class Consumes:
    """Coupling kinds an element type accepts, and the capacity they act on.

    ``element_type`` :data:`SYSTEM` means the consumer may be the whole system (every element).
    ``criticality`` (0-9) is how much its power matters: a grid bus feeding it is restored and
    shed by it (a hospital 5, water pumps 4, traffic signals 3).
    """

    element_type: str
    kinds: tuple[str, ...]
    capacity: str
    criticality: int = 0

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in COUPLING_KINDS]
        if unknown:
            raise ValueError(f"unknown coupling kind(s) {unknown}; known: {', '.join(COUPLING_KINDS)}")


class ObservedState(BaseModel):
    """Base of a system's observable state: what a live feed can tell about it now.

    Strict about input (unknown fields are errors) but not frozen: the live twin updates a copy as
    telemetry arrives. Every number is finite (non-finite values are rejected on validation).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class System:
    """Live state and SimPy processes of one system in one run. Subclass per system."""

    kind: ClassVar[str] = ""

    def __init__(self, world: World, name: str, config: SystemConfig) -> None:
        self.world = world
        self.name = name
        self.config = config

    def disrupt(self, disruption: DisruptionConfig) -> None:
        """Schedule a (resolved) disruption. Default: refuse."""
        raise NotImplementedError(f"{self.kind} cannot take disruption {disruption.kind!r}")

    def respond(self, strategy: StrategyConfig) -> None:
        """Apply a (resolved) strategy before the run starts. Default: refuse."""
        raise NotImplementedError(f"{self.kind} cannot apply strategy {strategy.kind!r}")

    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """Lose ``share_lost`` of an element's capacity (0.0 restores it) because a provider failed.

        Called by couplings (:mod:`twinworld.coupling`) for the kinds the plugin declares in
        ``consumes``; ``cause`` identifies the coupling so that several can act on one element.
        """
        raise NotImplementedError(f"{self.kind} cannot depend on another system's service")

    def feed(self, kind: str, provider_elements: tuple[str, ...], value: float, *, element: str | None,
             cause: int | None) -> None:
        """Take a quantity a coupled provider published (a travel time between two places, a
        count of casualties near a place, a hospital's occupancy), for the coupling ``kind``.

        ``provider_elements`` are the element names of the provider's key (``("A", "B")`` for
        ``roads.travel_min.A.B``); ``element`` is the consumer element the coupling names.
        """
        raise NotImplementedError(f"{self.kind} cannot take a {kind!r} quantity")

    def warm_start(self, state: ObservedState) -> None:
        """Start the run from an observed state (called before :meth:`start`)."""
        raise NotImplementedError(f"{self.kind} cannot start from an observed state")

    def observe(self) -> ObservedState:
        """The system's observable state now (the same model :meth:`warm_start` takes)."""
        raise NotImplementedError(f"{self.kind} has no observable state")

    def start(self) -> None:
        """Add this system's processes to ``world.env``."""

    def begin_statistics(self) -> None:
        """Forget what was measured so far: the warm-up is over (called at ``warmup`` hours).

        Systems whose KPIs count events or integrate levels reset them here; the World resets
        every level probe of the recorder itself.
        """

    def kpis(self) -> dict[str, float]:
        """The run's outcomes, after ``world.run()``."""
        return {}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Optional detailed tables (events, per-facility results)."""
        return {}


def _no_elements(config: Any) -> dict[str, str]:
    return {}


def _no_locations(config: Any) -> dict[str, tuple[float, float]]:
    return {}


@dataclass(frozen=True)
class SystemPlugin:
    """Everything twinworld needs to know about one kind of system, declared as data.

    Parameters
    ----------
    kind
        The ``kind:`` written in a scenario's ``systems:`` section.
    config
        Pydantic model of that section.
    build
        ``build(world, name, config) -> System`` for one run.
    disruptions, strategies
        Models of the disruptions and strategies this system understands, each with a distinct
        ``kind`` literal.
    kpis
        What it measures, with direction and unit.
    elements
        ``elements(config) -> {name: element type}``: what ``system.element`` may name.
    element_types
        Element type -> what it is, in words (every type ``elements`` returns).
    services
        What it publishes on the service board.
    consumes
        Which coupling kinds which element types accept.
    observable
        The model of its observable state (for :meth:`System.observe` and
        :meth:`System.warm_start`, and the live twin's telemetry schemas).
    streams
        Names of its random streams (the first name after the system's own).
    check
        Consistency checks inside the system's (prepared) config: ``check(config)`` returns
        problems with paths relative to the system's section. Targets, element references and
        couplings are checked generically from the declarations above.
    prepare
        Read file references at load time (through ``twinworld.feeds``), returning a config with
        the data inline or with content keys for the per-process cache. ``prepare(config, files)``.
    locations
        ``locations(config) -> {element: (lat, lon)}``: where its elements are on the region's
        map, so couplings can match facilities to grid buses and road nodes by location.
    example
        ``example() -> {"name", "horizon", "system": section, "disruptions": [...],
        "strategies": {name: lever}}``: a small working use of the system (as system ``name``)
        with every disruption and strategy kind, which the contract test (``tests/contract``) runs
        for every registered plugin.
    estimate_events
        ``estimate_events(config, horizon_h, disruptions, levers) -> float``: an upper-end guess
        of the events one run processes under one strategy's ``levers`` (see
        :mod:`twinworld.scenario.workload`); runs above the limit are refused at load time.
    """

    kind: str
    config: type[SystemConfig]
    build: Callable[[World, str, Any], System]
    disruptions: tuple[type[DisruptionConfig], ...] = ()
    strategies: tuple[type[StrategyConfig], ...] = ()
    kpis: tuple[KPI, ...] = ()
    elements: Callable[[Any], Mapping[str, str]] = _no_elements
    element_types: Mapping[str, str] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    consumes: tuple[Consumes, ...] = ()
    observable: type[ObservedState] | None = None
    streams: tuple[str, ...] = ()
    check: Callable[[Any], list[Problem]] | None = None
    prepare: Callable[[Any, Any], Any] | None = None
    example: Callable[[], Mapping[str, Any]] | None = None
    locations: Callable[[Any], Mapping[str, tuple[float, float]]] = _no_locations
    estimate_events: Callable[[Any, float, tuple[Any, ...], tuple[Any, ...]], float] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        names = [k.name for k in self.kpis]
        if len(set(names)) != len(names):
            raise ValueError(f"system {self.kind!r} declares a KPI twice: {names}")
        for service in self.services:
            if service.low > service.high or math.isnan(service.low) or math.isnan(service.high):
                raise ValueError(f"system {self.kind!r}: service {service.pattern!r} has range "
                                 f"{service.low}..{service.high}")
        for model in (*self.disruptions, *self.strategies):
            _literal_kind(model)  # raises TypeError when a model's kind is not a Literal

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

    def service_for(self, rest: str, elements: Mapping[str, str]) -> tuple[Service, list[str]] | None:
        """The declared service a key (without its system name) matches, with its element names."""
        for service in self.services:
            names = service.match(rest, elements)
            if names is not None:
                return service, names
        return None

    def family_for(self, rest: str) -> Service | None:
        """The declared service whose whole family ``rest`` names (``travel_min``), if any."""
        return next((s for s in self.services if s.is_family(rest)), None)

    def service_shaped(self, rest: str) -> Service | None:
        """The declared service a key's shape fits (fixed words in place; element names not
        checked): how a run tells a level from a quantity without the scenario's elements."""
        words = rest.split(".")
        for service in self.services:
            parts = service.parts
            if len(words) >= len(parts) and all(p.startswith("{") or p == w for p, w in zip(parts, words)):
                return service
        return None

    def consumer_kinds(self, element_type: str) -> dict[str, str]:
        """Coupling kind -> capacity it acts on, for consumers of ``element_type``."""
        return {kind: c.capacity for c in self.consumes if c.element_type == element_type
                for kind in c.kinds}


def _literal_kind(model: type[Frozen]) -> str:
    annotation = model.model_fields["kind"].annotation
    args = getattr(annotation, "__args__", ())
    if not args:
        raise TypeError(f"{model.__name__}.kind must be a Literal")
    return str(args[0])

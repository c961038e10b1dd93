"""The scenario file as typed, frozen pydantic models.

Systems, disruptions and strategies are dispatched to the right plugin's model at validation time:
``Scenario.model_validate(data, context={"registry": registry})``. A disruption is validated by the
plugin of the system its ``target`` names; a strategy part by the plugin of the system it is keyed
under. That lets two systems each have, say, a ``port_closure`` of their own.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    SerializationInfo,
    SerializeAsAny,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from twinworld.limits import (
    MAX_COUPLINGS,
    MAX_DISRUPTIONS,
    MAX_HORIZON_H,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_STRATEGIES,
    MAX_SWEEP_SCENARIOS,
)
from twinworld.params import Dist, Duration, duration, fixed_duration, param
from twinworld.scenario.levers import LeverSettings
from twinworld.scenario.registry import Registry, default_registry
from twinworld.systems.base import DisruptionConfig, Frozen, StrategyConfig, SystemConfig, target_system

__all__ = ["Scenario", "SweepSettings", "RankingSettings", "Coupling", "Constraint",
           "registry_of"]


def registry_of(info: ValidationInfo) -> Registry:
    context = info.context or {}
    return context.get("registry") or default_registry()


def _validate_system(value: Any, info: ValidationInfo) -> SystemConfig:
    if isinstance(value, SystemConfig):
        return value
    if not isinstance(value, dict):
        raise ValueError("a system section must be a mapping with a 'kind'")
    registry = registry_of(info)
    kind = value.get("kind")
    if kind is None:
        raise ValueError(f"missing 'kind'; known system kinds: {', '.join(registry.kinds)}")
    if not isinstance(kind, str):
        raise ValueError(f"kind must be a name, not a {type(kind).__name__}; known system kinds: "
                         f"{', '.join(registry.kinds)}")
    if kind not in registry:
        close = difflib.get_close_matches(str(kind), registry.kinds, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown system kind {kind!r}{hint} (known: {', '.join(registry.kinds)})")
    return registry.get(kind).config.model_validate(value, context=info.context)


def _system_kind_of(info: ValidationInfo, system: str) -> str | None:
    systems = (info.context or {}).get("system_kinds", {})
    return systems.get(system)


def _validate_disruption(value: Any, info: ValidationInfo) -> DisruptionConfig:
    if isinstance(value, DisruptionConfig):
        return value
    if not isinstance(value, dict):
        raise ValueError("a disruption must be a mapping with 'kind' and 'target'")
    target = value.get("target")
    if not isinstance(target, str):
        raise ValueError("missing 'target': the system (or system.element) it hits")
    system = target_system(target)
    kind_of_system = _system_kind_of(info, system)
    known_systems = sorted((info.context or {}).get("system_kinds", {}))
    if kind_of_system is None:
        raise ValueError(f"target {target!r} names no system of this scenario; "
                         f"systems: {', '.join(known_systems) or '(none)'}")
    plugin = registry_of(info).get(kind_of_system)
    model = plugin.disruption_model(str(value.get("kind")))
    if model is None:
        raise ValueError(f"system {system!r} ({kind_of_system}) has no disruption kind "
                         f"{value.get('kind')!r}; known: {', '.join(plugin.disruption_kinds) or '(none)'}")
    return model.model_validate(value, context=info.context)


def _validate_strategy_parts(value: Any, info: ValidationInfo) -> dict[str, tuple[StrategyConfig, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("a strategy maps system names to a lever (or a list of levers), "
                         "e.g. {hospitals: {kind: transfer}}")
    kinds = (info.context or {}).get("system_kinds", {})
    parts: dict[str, tuple[StrategyConfig, ...]] = {}
    for system, levers in value.items():
        if system not in kinds:
            raise ValueError(f"strategy names system {system!r}, which this scenario does not have; "
                             f"systems: {', '.join(sorted(kinds)) or '(none)'}")
        plugin = registry_of(info).get(kinds[system])
        items = levers if isinstance(levers, list) else [levers]
        models = []
        for lever in items:
            if isinstance(lever, StrategyConfig):
                models.append(lever)
                continue
            kind = lever.get("kind") if isinstance(lever, dict) else None
            model = plugin.strategy_model(str(kind))
            if model is None:
                raise ValueError(f"system {system!r} ({kinds[system]}) has no strategy kind {kind!r}; "
                                 f"known: {', '.join(plugin.strategy_kinds) or '(none)'}")
            models.append(model.model_validate(lever, context=info.context))
        parts[system] = tuple(models)
    return parts


def _any_object(description: str) -> Any:
    return WithJsonSchema({"type": "object", "description": description})


SystemSection = Annotated[SerializeAsAny[SystemConfig], PlainValidator(_validate_system),
                          _any_object("a system; see the kinds in $defs")]
Disruption = Annotated[SerializeAsAny[DisruptionConfig], PlainValidator(_validate_disruption),
                       _any_object("a disruption of the target system's kind")]
def _dump_parts(parts: dict[str, tuple[StrategyConfig, ...]], info: SerializationInfo) -> dict[str, Any]:
    """Each system's levers as written: one mapping, or a list when there are several."""
    dumped = {system: [lever.model_dump(mode=info.mode) for lever in levers] for system, levers in parts.items()}
    return {system: items[0] if len(items) == 1 else items for system, items in dumped.items()}


StrategyParts = Annotated[dict[str, tuple[StrategyConfig, ...]], PlainValidator(_validate_strategy_parts),
                          PlainSerializer(_dump_parts),
                          _any_object("system name -> lever or list of levers")]


class Coupling(Frozen):
    """One system's capacity depends on another's service (power -> hospital).

    ``provider`` is a service key a system publishes (``grid.bus.12``; see each system's
    ``services``); ``consumer`` a system or one of its elements (``hospitals.H1``) whose type
    accepts ``kind``. While the provider's level is below 1, the consumer runs on its buffer for
    ``backup_h`` hours, then loses ``loss_share`` of its capacity until the provider is back and
    ``recovery_h`` has passed.
    """

    provider: str = Field(description="a published service key, e.g. grid.bus.12")
    consumer: str = Field(description="system or system.element, e.g. hospitals.Central")
    kind: Literal["power", "road_travel", "port_supply", "supply", "casualties", "priority"] = "power"
    backup_h: duration(ge=0) = Field(0.0, description="hours the consumer rides on its buffer "  # type: ignore[valid-type]
                                                      "(generator fuel, safety stock)")
    loss_share: param(ge=0, le=1) = Field(1.0, description="share of capacity lost once the buffer "  # type: ignore[valid-type]
                                                           "is spent")
    recovery_h: duration(ge=0) = Field(0.0, description="hours after the provider returns until "  # type: ignore[valid-type]
                                                        "capacity is back")

    @field_validator("backup_h", "loss_share", "recovery_h")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        low, high = value.bounds if isinstance(value, Dist) else (value, value)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"must be a finite number; got {value!r}")
        return value


class SweepSettings(Frozen):
    """How many sampled scenarios, which design, how many replications (used by ``sweep``)."""

    scenarios: int = Field(100, ge=1, le=MAX_SWEEP_SCENARIOS)
    design: Literal["mc", "lhs", "factorial", "csv", "sobol"] = "lhs"
    replications: int = Field(1, ge=1, le=MAX_REPLICATIONS)
    levels: dict[str, list[float]] | None = Field(
        None, description="factorial design: parameter path -> the values to combine")
    design_csv: str | None = Field(None, description="csv design: a file with one column per parameter path")
    max_retries: int = Field(2, ge=0, le=100)
    chunk_size: int | None = Field(None, ge=1, le=1_000_000, description="runs per task; default: chosen from run time")


class Constraint(Frozen):
    """A satisficing requirement: ``kpi`` at most (or at least) ``threshold`` in ``share`` of scenarios."""

    kpi: str
    max: float | None = None
    min: float | None = None
    share: float = Field(0.95, gt=0, le=1)


class RankingSettings(Frozen):
    """How strategies are compared (used by ``rank``)."""

    primary: str | None = None
    risk: Literal["mean", "cvar", "max_regret", "mean_regret", "median", "p90"] = "mean"
    cvar_alpha: float = Field(0.9, gt=0, lt=1, description="CVaR level: mean of the worst 1-alpha tail")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    constraints: list[Constraint] = []


class Scenario(Frozen):
    """A planner's scenario: systems, what can go wrong, the strategies to compare, what to measure."""

    twinworld: Literal[1] = Field(description="file format version")
    name: str
    description: str = ""
    horizon: fixed_duration(gt=0, le=MAX_HORIZON_H) = Field(  # type: ignore[valid-type]
        description="simulated time span, e.g. 14d")
    warmup: Duration = Field(0.0, description="simulated time before statistics start (KPIs count "
                                              "from here), e.g. 7d for steady-state studies")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    data_dir: str = Field(".", description="folder (relative to this file) that file references "
                                           "must stay inside")
    systems: dict[str, SystemSection] = Field(min_length=1, max_length=100)
    couplings: list[Coupling] = Field([], max_length=MAX_COUPLINGS)
    disruptions: list[Disruption] = Field([], max_length=MAX_DISRUPTIONS)
    strategies: dict[str, StrategyParts] = Field(default_factory=lambda: {"baseline": {}},
                                                 max_length=MAX_STRATEGIES)
    kpis: list[str] = []
    sweep: SweepSettings = SweepSettings()
    ranking: RankingSettings = RankingSettings()
    levers: LeverSettings | None = Field(None, description="strategy settings an optimiser may vary "
                                                           "(twinworld optimize)")
    _source: str | None = PrivateAttr(default=None)
    _registry: Registry | None = PrivateAttr(default=None)
    _resolved: bool = PrivateAttr(default=False)   # set by resolve(): no distributions left
    _files: Any = PrivateAttr(default=None)        # the ScenarioFiles its references resolve in
    _load_options: dict[str, Any] = PrivateAttr(default_factory=dict)  # to load it again alike

    @property
    def registry(self) -> Registry:
        """The plugins this scenario was validated with (default: every installed plugin)."""
        return self._registry or default_registry()

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    @property
    def files(self) -> Any:
        """The resolver of its file references (a :class:`~twinworld.scenario.files.ScenarioFiles`),
        or None when the scenario was not made by ``load_scenario``."""
        return self._files

    @field_validator("systems")
    @classmethod
    def _system_names(cls, value: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"system name {name!r} must be a word (letters, digits, _)")
        return value

    @field_validator("strategies")
    @classmethod
    def _has_strategies(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("list at least one strategy, e.g. baseline: {}")
        return value

    # -- conveniences -----------------------------------------------------------------------
    def system_kinds(self) -> dict[str, str]:
        return {name: cfg.kind for name, cfg in self.systems.items()}

    def disruption_label(self, index: int) -> str:
        """Stable name of disruption ``index``: its ``name``, or its kind (numbered if repeated)."""
        d = self.disruptions[index]
        if d.name:
            return d.name
        same = [i for i, other in enumerate(self.disruptions) if other.kind == d.kind and not other.name]
        return d.kind if len(same) == 1 else f"{d.kind}{same.index(index) + 1}"

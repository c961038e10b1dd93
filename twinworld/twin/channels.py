"""What telemetry each system of a scenario accepts, derived from its plugin's contract.

The observable-state model of a plugin (``SystemPlugin.observable``) is the message schema:

- ``<system>/state`` carries the whole model;
- ``<system>/state/<element>`` carries one element's part. The element fields of the model are
  found by shape and name: a ``dict[str, Model]`` (``hospitals``, ``berths``, ``warehouses``), a
  ``dict[str, number]`` (``bus_load_mw``, ``vehicles_on_links``) or a ``list[str]`` of ids
  (``lines_out``, ``closed_links``), whose name contains an element type of the plugin
  (``hospitals`` -> hospital, ``bus_load_mw`` -> bus, ``closed_links`` -> link). An element of a
  type with a ``dict[str, Model]`` field sends that model (``{"ward_occupied": 312, ...}``); any
  other sends ``{field: value}`` for its fields (``{"bus_load_mw": 41.5}``,
  ``{"lines_out": true}`` for "this line is out");
- ``<system>/event`` carries the plugin kind's events (:mod:`twinworld.twin.events`).

This works for any plugin, built-in or installed: a plugin with no such fields still takes whole
state snapshots.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from twinworld.systems.base import ObservedState
from twinworld.twin.events import Event, event_models

__all__ = ["ElementField", "SystemTelemetry", "Telemetry", "element_fields", "telemetry_for",
           "NUMBER_LIMIT"]

#: Upper limit of a dict-of-number value whose model sets none (a count or amount, finite, >= 0).
NUMBER_LIMIT = 1e9


@dataclass(frozen=True)
class ElementField:
    """A field of an observable model keyed by element."""

    name: str
    element_type: str
    shape: Literal["model", "number", "list"]
    model: type[BaseModel] | None = None       # the value model of a dict-of-model field
    low: float = 0.0                           # range of a dict-of-number value
    high: float = NUMBER_LIMIT


def _candidates(word: str) -> list[str]:
    return [word, word[:-1], word[:-2]] if word.endswith("es") else [word, word[:-1]]


def _element_type(name: str, types: set[str]) -> str | None:
    for word in name.split("_"):
        for candidate in _candidates(word):
            if candidate in types:
                return candidate
    return None


def _number_bounds(annotation: Any) -> tuple[float, float]:
    low, high = 0.0, NUMBER_LIMIT
    for meta in getattr(annotation, "__metadata__", ()):
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            value = getattr(meta, attr, None)
            if value is not None:
                low, high = (float(value), high) if is_low else (low, float(value))
    return low, high


def _shape(annotation: Any) -> tuple[str, Any] | None:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2 and args[0] is str:
        value = args[1]
        base = typing.get_args(value)[0] if typing.get_origin(value) is typing.Annotated else value
        if isinstance(base, type) and issubclass(base, BaseModel):
            return "model", base
        if base in (int, float):
            return "number", value
    if origin is list and args and args[0] is str:
        return "list", None
    return None


def _limits() -> dict[str, tuple[float, float]]:
    """Physical ranges of the built-in dict-of-number fields that their models leave open. A bus's
    net load may be negative (generation behind it, as in case300)."""
    from twinworld.systems.grid.state import MAX_BUS_LOAD_MW
    from twinworld.systems.traffic.state import MAX_VEHICLES_PER_LINK

    return {"bus_load_mw": (-MAX_BUS_LOAD_MW, MAX_BUS_LOAD_MW), "vehicles_on_links": (0.0, MAX_VEHICLES_PER_LINK)}


def element_fields(observable: type[BaseModel], types: set[str]) -> tuple[ElementField, ...]:
    """The element fields of an observable model, given the plugin's element types."""
    found = []
    limits = _limits()
    for name, info in observable.model_fields.items():
        shape = _shape(info.annotation)
        element_type = _element_type(name, types)
        if shape is None or element_type is None:
            continue
        kind, detail = shape
        if kind == "model":
            found.append(ElementField(name, element_type, "model", model=detail))
        elif kind == "number":
            low, high = limits.get(name) or _number_bounds(detail)
            found.append(ElementField(name, element_type, "number", low=low, high=high))
        else:
            found.append(ElementField(name, element_type, "list"))
    return tuple(found)


class _ElementBase(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="after")
    def _something(self) -> "_ElementBase":
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(type(self).model_fields)}")
        return self


def _element_model(element_type: str, fields: list[ElementField]) -> type[BaseModel]:
    """The payload model of one element of a type without a dict-of-model field."""
    spec: dict[str, Any] = {}
    for item in fields:
        if item.shape == "number":
            spec[item.name] = (float | None, Field(None, ge=item.low, le=item.high))
        else:
            spec[item.name] = (bool | None, Field(None, description=f"true: in {item.name} now"))
    return create_model(f"{element_type.title().replace('_', '')}Telemetry", __base__=_ElementBase, **spec)


@dataclass(frozen=True)
class SystemTelemetry:
    """The telemetry one system of a scenario accepts.

    Attributes
    ----------
    system, kind
        The system's name in the scenario and its plugin kind.
    observable
        The plugin's observable-state model (the ``state`` message).
    fields
        Its element fields.
    names
        Element type -> the names the scenario gives it (types missing here are not checked).
    events
        Event kind -> model.
    """

    system: str
    kind: str
    observable: type[ObservedState]
    fields: tuple[ElementField, ...]
    names: Mapping[str, frozenset[str]]
    events: Mapping[str, type[Event]] = field(default_factory=dict)

    def element_types(self) -> list[str]:
        return sorted({f.element_type for f in self.fields})

    def type_of(self, element: str) -> str | None:
        """The element type of ``element`` among the types with element fields (None: unknown)."""
        for element_type in self.element_types():
            if element in self.names.get(element_type, ()):
                return element_type
        return None

    def element_model(self, element_type: str) -> type[BaseModel]:
        """The payload model of ``state/<element>`` for an element of ``element_type``."""
        own = [f for f in self.fields if f.element_type == element_type]
        model = next((f.model for f in own if f.shape == "model"), None)
        return model if model is not None else _element_model(element_type, own)

    def is_known(self, element_type: str | None, name: str) -> bool:
        """Whether ``name`` is an element of that type (types without a name list accept any)."""
        if element_type is None or element_type not in self.names:
            return True
        return name in self.names[element_type]


@dataclass(frozen=True)
class Telemetry:
    """The telemetry contract of a whole scenario: system name -> what it accepts."""

    systems: Mapping[str, SystemTelemetry]

    def get(self, system: str) -> SystemTelemetry | None:
        return self.systems.get(system)


def _extra_names(kind: str, config: Any) -> dict[str, list[str]]:
    """Element names a plugin does not declare as targets but its telemetry names (road links)."""
    if kind == "road_network":
        from twinworld.systems.traffic import load_network

        return {"link": list(load_network(config.source).link_ids)}
    return {}


def telemetry_for(scenario: Any) -> Telemetry:
    """The telemetry contract of every system of a loaded scenario."""
    registry = scenario.registry
    systems = {}
    for name, config in scenario.systems.items():
        plugin = registry.get(config.kind)
        if plugin.observable is None:
            continue
        names: dict[str, set[str]] = {}
        for element, element_type in plugin.elements(config).items():
            names.setdefault(element_type, set()).add(element)
        for element_type, extra in _extra_names(config.kind, config).items():
            names.setdefault(element_type, set()).update(extra)
        types = set(plugin.element_types) | set(names)
        systems[name] = SystemTelemetry(
            system=name, kind=config.kind, observable=plugin.observable,
            fields=element_fields(plugin.observable, types),
            names={t: frozenset(n) for t, n in names.items()}, events=event_models(config.kind))
    return Telemetry(systems)

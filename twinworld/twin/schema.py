"""JSON Schemas of the telemetry messages, generated from the system contract.

``twinworld schema --telemetry`` prints them: for every installed system kind, the schema of its
whole-state message (``<system>/state``), of one element's message per element type
(``<system>/state/<element>``) and of each event kind (``<system>/event``). Every message may
also carry the envelope keys ``time`` (ISO 8601 with a zone, or unix seconds; when it was
observed) and ``id`` (the publisher's message id, used to recognise a redelivered message).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from twinworld.scenario.registry import Registry, default_registry
from twinworld.systems.base import ObservedState
from twinworld.twin.channels import SystemTelemetry, element_fields
from twinworld.twin.events import event_models

__all__ = ["ENVELOPE", "telemetry_schemas"]

ENVELOPE = {
    "time": {"description": "when it was observed: ISO 8601 with a time zone, or unix seconds "
                            "(default: when the twin received it)",
             "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]},
    "id": {"description": "the publisher's id of this message (a redelivery keeps it)", "type": "string",
           "minLength": 1, "maxLength": 200},
}
_EXTRA_TYPES = {"road_network": {"link": "a road link of the network, by its id"}}


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["title"] = title
    schema.setdefault("properties", {}).update(ENVELOPE)
    return schema


def _kind_schemas(kind: str, observable: type[ObservedState], types: dict[str, str]) -> dict[str, Any]:
    fields = element_fields(observable, set(types))
    spec = SystemTelemetry(system=kind, kind=kind, observable=observable, fields=fields, names={},
                           events=event_models(kind))
    return {
        "state": _schema(observable, f"{kind}: <prefix>/<system>/state"),
        "elements": {t: {"description": types.get(t, ""),
                         "schema": _schema(spec.element_model(t), f"{kind}: <prefix>/<system>/state/<{t}>")}
                     for t in spec.element_types()},
        "events": {name: _schema(model, f"{kind}: <prefix>/<system>/event ({name})")
                   for name, model in spec.events.items()},
    }


def telemetry_schemas(registry: Registry | None = None) -> dict[str, Any]:
    """System kind -> ``{"state", "elements": {type: {description, schema}}, "events": {kind: schema}}``."""
    registry = registry or default_registry()
    out: dict[str, Any] = {"envelope": ENVELOPE, "topics": {
        "state": "<prefix>/<system>/state", "element": "<prefix>/<system>/state/<element>",
        "event": "<prefix>/<system>/event", "recommendation": "<prefix>/twin/recommendation",
        "status": "<prefix>/twin/status", "prefix": "twinworld/<scenario name, lower case, - between words>"}}
    for plugin in registry:
        if plugin.observable is None:
            continue
        types = {**plugin.element_types, **_EXTRA_TYPES.get(plugin.kind, {})}
        out[plugin.kind] = _kind_schemas(plugin.kind, plugin.observable, types)
    return out

"""The JSON Schema of scenario files, with every installed system's sections spelled out."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from twinworld.scenario.model import Scenario
from twinworld.scenario.registry import Registry, default_registry

__all__ = ["scenario_json_schema"]


def scenario_json_schema(registry: Registry | None = None) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for scenario YAML files.

    ``systems`` entries are any installed system's section; ``disruptions`` and strategy levers are
    any installed system's (which one applies depends on the target system, checked at load time).
    """
    registry = registry or default_registry()
    plugins = sorted(registry, key=lambda p: p.kind)
    configs = [p.config for p in plugins]
    disruptions = list(dict.fromkeys(m for p in plugins for m in p.disruptions))
    strategies = list(dict.fromkeys(m for p in plugins for m in p.strategies))
    models = [Scenario, *configs, *disruptions, *strategies]
    refs, top = models_json_schema([(m, "validation") for m in models],
                                   ref_template="#/$defs/{model}",
                                   title="twinworld scenario")
    defs = top["$defs"]
    root = dict(defs.pop("Scenario"))
    props = root["properties"]

    def any_of(group: list[type]) -> dict[str, Any]:
        return {"anyOf": [refs[(m, "validation")] for m in group]}

    props["systems"] = {**props["systems"], "additionalProperties": any_of(configs)}
    props["disruptions"] = {**props["disruptions"], "items": any_of(disruptions)}
    lever = any_of(strategies)
    props["strategies"] = {**props["strategies"], "additionalProperties": {
        "type": "object", "additionalProperties": {"anyOf": [lever, {"type": "array", "items": lever}]}}}
    return {**root, "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "twinworld scenario", "$defs": defs}

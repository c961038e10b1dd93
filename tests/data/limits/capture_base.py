"""Record today's (rule-based) KPIs, to prove later that behaviour switched off changes nothing.

Run against the code *without* agents that decide (main before the agents branch is merged;
recorded at main c648918, after the roads became a kinematic-wave link transmission model):

    PYTHONPATH=/path/to/main python tests/data/limits/capture_base.py

Re-record whenever a model's physics changes on purpose (the KPIs of today's models move).

It writes ``base_kpis.json`` beside itself: for each case (a scenario file or a plugin's example,
a strategy, a seed) the KPIs as JSON numbers (``repr`` round-trips floats exactly); and
``base_examples.json``, the plugins' example scenarios as they were (examples grow new levers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

#: (scenario file, seeds); every strategy of each file is run.
FILES = [("helsinki_evacuation.yaml", (1, 2)), ("port_strike.yaml", (1, 2)),
         ("hospital_surge.yaml", (1, 2)), ("port_congestion.yaml", (1, 2))]
#: plugin kinds whose contract example is run (every strategy, seed 5)
EXAMPLES = ["road_network", "supply_network", "hospital_region", "port"]


def example_scenario(kind: str) -> dict[str, Any]:
    from twinworld.scenario.registry import default_registry

    plugin = default_registry().get(kind)
    example = plugin.example()
    name = example["name"]
    return {"twinworld": 1, "name": f"{kind} example", "horizon": example["horizon"], "seed": 5,
            "systems": {name: example["system"]}, "disruptions": example["disruptions"],
            "strategies": {"baseline": {}, **{s: {name: lever} for s, lever in example["strategies"].items()}}}


def cases() -> list[tuple[str, Any, str, int]]:
    from twinworld import load_scenario

    found = []
    for file, seeds in FILES:
        scenario = load_scenario(ROOT / "scenarios" / file)
        found += [(f"{file}:{strategy}:{seed}", scenario, strategy, seed)
                  for strategy in scenario.strategies for seed in seeds]
    for kind in EXAMPLES:
        scenario = load_scenario(example_scenario(kind))
        found += [(f"example:{kind}:{strategy}:5", scenario, strategy, 5) for strategy in scenario.strategies]
    return found


def main() -> None:
    from twinworld.experiments.run import run

    out = {key: run(scenario, strategy, seed).kpis for key, scenario, strategy, seed in cases()}
    (HERE / "base_kpis.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    examples = {kind: example_scenario(kind) for kind in EXAMPLES}   # the examples may grow later
    (HERE / "base_examples.json").write_text(json.dumps(examples, indent=1, sort_keys=True) + "\n")
    print(f"{len(out)} cases written")


if __name__ == "__main__":
    main()

"""The models swept in ``benchmarks/sweep_overhead.py``, in the shape each tool wants.

The *trivial model* is the same arithmetic everywhere: ``cost = load * size * factor + noise``
with one standard normal draw. twinworld runs it as a system plugin (so a run pays for building a
World: a SimPy environment, streams, recorder), Mesa's ``batch_run`` as a ``mesa.Model`` with a
DataCollector, EMA Workbench as a Python function (``benchmarks/ema_model.py``).

The *hospital model* is twinworld's ``scenarios/hospital_surge.yaml``: Mesa and EMA call
``twinworld.run`` for each of their runs, so all three sweep the very same simulation.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import mesa
import numpy as np

from twinworld.params import Param
from twinworld.systems.base import KPI, DisruptionConfig, StrategyConfig, System, SystemConfig, SystemPlugin

ROOT = Path(__file__).resolve().parents[1]
HOSPITAL = ROOT / "scenarios" / "hospital_surge.yaml"


# ------------------------------------------------------------------------ twinworld plugin --
class TrivialConfig(SystemConfig):
    kind: Literal["trivial"]
    load: Param = 1.0


class Scale(DisruptionConfig):
    kind: Literal["scale"]
    size: Param = 1.0


class Damp(StrategyConfig):
    kind: Literal["damp"]
    factor: Param = 0.5


class Trivial(System):
    kind = "trivial"

    def __init__(self, world: Any, name: str, config: TrivialConfig) -> None:
        super().__init__(world, name, config)
        self.size = 1.0
        self.factor = 1.0

    def disrupt(self, disruption: Scale) -> None:
        self.size = float(disruption.size)

    def respond(self, strategy: Damp) -> None:
        self.factor = float(strategy.factor)

    def kpis(self) -> dict[str, float]:
        noise = float(self.world.streams.get(self.name, "noise").normal())
        return {"cost": float(self.config.load) * self.size * self.factor + noise}


def _build(world: Any, name: str, config: TrivialConfig) -> Trivial:
    return Trivial(world, name, config)


plugin = SystemPlugin(kind="trivial", config=TrivialConfig, build=_build, disruptions=(Scale,),
                      strategies=(Damp,), kpis=(KPI("cost", "minimize"),))


def trivial_scenario(scenarios: int) -> dict:
    return {"twinworld": 1, "name": "trivial", "horizon": 1, "seed": 5,
            "systems": {"m": {"kind": "trivial", "load": {"uniform": [0, 2]}}},
            "disruptions": [{"kind": "scale", "target": "m", "size": {"uniform": [1, 3]}}],
            "strategies": {"baseline": {}, "damp": {"m": {"kind": "damp", "factor": 0.5}}},
            "sweep": {"scenarios": scenarios, "design": "lhs"}}


def trivial_registry() -> Any:
    from twinworld.scenario.registry import Registry, default_registry

    registry = Registry([default_registry().get("hospital_region")])
    registry.register(plugin)
    return registry


# ------------------------------------------------------------------------------ Mesa models --
class TrivialMesa(mesa.Model):
    """The trivial model as Mesa's ``batch_run`` wants it: one step, a DataCollector."""

    def __init__(self, point: tuple[float, float] = (1.0, 1.0), factor: float = 1.0) -> None:
        super().__init__(rng=int(point[0] * 1e9) % 2**32)
        (self.load, self.size), self.factor = point, factor
        self.cost = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={"cost": "cost"})

    def step(self) -> None:
        self.cost = self.load * self.size * self.factor + float(self.rng.normal())
        self.datacollector.collect(self)
        self.running = False


@lru_cache(maxsize=2)
def hospital_design(scenarios: int) -> tuple[Any, Any]:
    """The hospital scenario and its LHS design (built once per process)."""
    import twinworld
    from twinworld.experiments.design import make_design

    scenario = twinworld.load_scenario(HOSPITAL)
    return scenario, make_design(scenario, scenarios=scenarios, replications=1)


class HospitalMesa(mesa.Model):
    """One twinworld hospital run (sample ``scenario_index`` under ``strategy``) as a Mesa model."""

    def __init__(self, scenario_index: int = 0, strategy: str = "baseline", scenarios: int = 1) -> None:
        super().__init__(rng=scenario_index)
        self.scenario_index, self.strategy, self.scenarios = scenario_index, strategy, scenarios
        self.turned_away = float("nan")
        self.datacollector = mesa.DataCollector(model_reporters={"turned_away": "turned_away"})

    def step(self) -> None:
        import twinworld
        from twinworld.experiments.design import run_seed

        scenario, plan = hospital_design(self.scenarios)
        seed = run_seed(plan.seed, self.scenario_index, 0)
        result = twinworld.run(scenario, self.strategy, seed=seed, values=plan.point(self.scenario_index),
                               run_seed=np.random.SeedSequence(seed))
        self.turned_away = result.kpis["patients_turned_away"]
        self.datacollector.collect(self)
        self.running = False

"""A test-only system whose KPI is the Ishigami function of three uncertain inputs.

``f = sin(x1) + a sin^2(x2) + b x3^4 sin(x1)`` with ``x_i ~ U(-pi, pi)`` (Ishigami & Homma 1990,
"An importance quantification technique in uncertainty analysis for computer models"); its Sobol'
indices are known in closed form (Saltelli et al. 2008, "Global Sensitivity Analysis: The Primer",
section 4.4), so a sweep with the ``sobol`` design can be checked against them end to end.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from twinworld.params import Param
from twinworld.scenario.registry import Registry, default_registry
from twinworld.systems.base import KPI, System, SystemConfig, SystemPlugin

__all__ = ["plugin", "ishigami_registry", "ishigami_scenario", "analytic_indices"]


class IshigamiConfig(SystemConfig):
    kind: Literal["ishigami"]
    x1: Param = 0.0
    x2: Param = 0.0
    x3: Param = 0.0
    a: float = 7.0
    b: float = 0.1


class Ishigami(System):
    kind = "ishigami"

    def kpis(self) -> dict[str, float]:
        c = self.config
        x1, x2, x3 = float(c.x1), float(c.x2), float(c.x3)
        return {"y": math.sin(x1) + c.a * math.sin(x2) ** 2 + c.b * x3 ** 4 * math.sin(x1)}


def _build(world: Any, name: str, config: IshigamiConfig) -> Ishigami:
    return Ishigami(world, name, config)


plugin = SystemPlugin(kind="ishigami", config=IshigamiConfig, build=_build,
                      kpis=(KPI("y", "minimize"),))


def ishigami_registry() -> Registry:
    registry = Registry(list(default_registry()))
    registry.register(plugin)
    return registry


def ishigami_scenario(base_samples: int, seed: int = 3) -> dict:
    u = {"uniform": [-math.pi, math.pi]}
    return {"twinworld": 1, "name": "ishigami", "horizon": 1, "seed": seed,
            "systems": {"f": {"kind": "ishigami", "x1": u, "x2": u, "x3": u}},
            "strategies": {"baseline": {}}, "kpis": ["y"],
            "sweep": {"scenarios": base_samples, "design": "sobol"}}


def analytic_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """(S1, ST) of x1, x2, x3 (Saltelli et al. 2008, eqs. for the Ishigami function)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]

"""A tiny test-only system plugin for the sweep tests: cheap runs with knobs to fail and crash.

``kind: toy`` has one uncertain ``load``; a ``shock`` disruption scales it; a ``damp`` strategy
lowers it. KPIs draw from the run's named streams so common random numbers and seeds are visible
in the results. Test knobs:

- ``fail_above``: the run raises ``ValueError`` when the resolved ``load`` is above it;
- ``crash_marker``: a file path; the first run that finds no file there creates it and kills its
  own process with SIGKILL (a dying worker); later runs go on normally;
- ``sleep_s``: wall-clock seconds each run sleeps (to make a sweep last long enough to interrupt);
- ``static_log``: a file path; the toy's "heavy static input" is built through the per-process
  cache (:func:`twinworld.core.cache.static`) and each build appends the building process id there.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Literal

from twinworld.core.cache import static
from twinworld.params import Param
from twinworld.scenario.registry import Registry, default_registry
from twinworld.systems.base import KPI, DisruptionConfig, StrategyConfig, System, SystemConfig, SystemPlugin

__all__ = ["plugin", "toy_registry", "toy_scenario"]


class ToyConfig(SystemConfig):
    kind: Literal["toy"]
    load: Param = 1.0
    fail_above: float | None = None
    crash_marker: str | None = None
    sleep_s: float = 0.0
    static_log: str | None = None


class Shock(DisruptionConfig):
    kind: Literal["shock"]
    size: Param = 1.0


class Damp(StrategyConfig):
    kind: Literal["damp"]
    factor: Param = 0.5


class Toy(System):
    kind = "toy"

    def __init__(self, world: Any, name: str, config: ToyConfig) -> None:
        super().__init__(world, name, config)
        self.level = float(config.load)
        self.noise = 0.0

    def disrupt(self, disruption: Shock) -> None:
        self.level *= float(disruption.size)

    def respond(self, strategy: Damp) -> None:
        self.level *= float(strategy.factor)

    def start(self) -> None:
        config: ToyConfig = self.config
        if config.static_log:
            log = config.static_log
            static(f"toy-static:{log}", lambda: _log_build(Path(log)))
        if config.crash_marker and _claim(Path(config.crash_marker)):
            os.kill(os.getpid(), signal.SIGKILL)
        if config.fail_above is not None and float(config.load) > config.fail_above:
            raise ValueError(f"toy load {float(config.load):.3f} is above {config.fail_above}")
        if config.sleep_s:
            time.sleep(config.sleep_s)
        self.noise = float(self.world.streams.get(self.name, "noise").normal())
        self.world.env.process(self._tick())

    def _tick(self):
        """Process: one hour passes."""
        yield self.world.env.timeout(1.0)

    def kpis(self) -> dict[str, float]:
        return {"cost": self.level + self.noise, "served": 10.0 - self.level}


def _log_build(log: Path) -> int:
    """Build the toy's heavy static input: note which process built it."""
    with open(log, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    return os.getpid()


def _claim(marker: Path) -> bool:
    """Create ``marker`` if it does not exist; True when this call created it."""
    try:
        with open(marker, "x") as handle:
            handle.write(str(os.getpid()))
        return True
    except FileExistsError:
        return False


def _build(world: Any, name: str, config: ToyConfig) -> Toy:
    return Toy(world, name, config)


plugin = SystemPlugin(kind="toy", config=ToyConfig, build=_build, disruptions=(Shock,),
                      strategies=(Damp,),
                      kpis=(KPI("cost", "minimize", "units"), KPI("served", "maximize", "units")))


def toy_registry() -> Registry:
    """The installed plugins plus ``toy``."""
    registry = Registry(list(default_registry()))
    registry.register(plugin)
    return registry


def toy_scenario(*, scenarios: int = 8, design: str = "lhs", replications: int = 1,
                 fail_above: float | None = None, crash_marker: str | None = None,
                 sleep_s: float = 0.0, seed: int = 11, static_log: str | None = None) -> dict:
    """A toy scenario mapping with two uncertain parameters and two strategies."""
    system: dict[str, Any] = {"kind": "toy", "load": {"uniform": [0.0, 2.0]}, "sleep_s": sleep_s}
    if fail_above is not None:
        system["fail_above"] = fail_above
    if crash_marker is not None:
        system["crash_marker"] = crash_marker
    if static_log is not None:
        system["static_log"] = static_log
    return {"twinworld": 1, "name": "toy sweep", "horizon": "1d", "seed": seed,
            "systems": {"toy": system},
            "disruptions": [{"kind": "shock", "target": "toy", "size": {"triangular": [1, 1.5, 3]}}],
            "strategies": {"baseline": {}, "damp": {"toy": {"kind": "damp", "factor": 0.5}}},
            "kpis": ["cost", "served"],
            "sweep": {"scenarios": scenarios, "design": design, "replications": replications}}


def toy_cli_env(folder: Path) -> dict[str, str]:
    """Environment for ``python -m twinworld`` in which the toy plugin is installed as an entry
    point (a dist-info folder under ``folder`` on PYTHONPATH)."""
    site = folder / "site"
    dist = site / "twinworld_sweep_toy-0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: twinworld-sweep-toy\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[twinworld.systems]\ntoy = tests.sweep_toy:plugin\n")
    root = Path(__file__).resolve().parents[1]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(site)]), "COLUMNS": "200",
            "PYTHONWARNINGS": "ignore"}

"""The road engine compiled by mypyc at install (hatch_build.py) against its Python source.

The compiled build must be an exact copy of the source's behaviour: the same KPIs, to the last
bit, for every road feature the engine has (dynamic rerouting with route generations, informed
drivers of the household scenario, closures and floods of the flagship storm, shelters filling up). Each build runs in its
own process (``TWINWORLD_PURE_PYTHON=1`` selects the source).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import ROOT
from twinworld.systems.traffic import ENGINE_BUILD

_KPIS = """
import json, sys
sys.path.insert(0, {bench!r})
from traffic_vs_uxsim import grid_scenario
from twinworld import load_scenario
from twinworld.experiments.run import run
from twinworld.systems.traffic import ENGINE_BUILD

out = {{"build": ENGINE_BUILD}}
for seed in (0, 1):
    out[f"grid {{seed}}"] = run(load_scenario(grid_scenario(6, 1 / 24, t_end=1800, tmax=3600)), "baseline", seed).kpis
storm = load_scenario({storm!r})
for strategy in storm.strategies:
    out[f"storm {{strategy}}"] = run(storm, strategy, 2).kpis
evacuation = load_scenario({evacuation!r}, overrides=["systems.roads.zones.0.households=3000",
                                                      "systems.roads.zones.1.households=12000"])
for strategy in evacuation.strategies:
    out[f"evacuation {{strategy}}"] = run(evacuation, strategy, 1).kpis
households = load_scenario({households!r}, overrides=["systems.roads.zones.0.households=3000",
                                                      "systems.roads.households.shadow.households=8000"])
for strategy in households.strategies:  # informed drivers (0.4) and the rest on free-flow routes
    out[f"households {{strategy}}"] = run(households, strategy, 1).kpis
print(json.dumps(out, sort_keys=True))
"""


def _kpis(pure_python: bool) -> dict:
    code = _KPIS.format(bench=str(ROOT / "benchmarks"), storm=str(ROOT / "scenarios" / "regional_storm.yaml"),
                        evacuation=str(ROOT / "scenarios" / "helsinki_evacuation.yaml"),
                        households=str(ROOT / "scenarios" / "helsinki_households.yaml"))
    env = {**os.environ, "TWINWORLD_PURE_PYTHON": "1" if pure_python else "0"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _compiler() -> bool:
    """A C compiler and Python's headers: what the install needs to compile the engine."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return (shutil.which("cc") is not None or shutil.which("gcc") is not None) and headers.exists()


@pytest.mark.skipif(os.environ.get("TWINWORLD_PURE_PYTHON", "") not in ("", "0"),
                    reason="TWINWORLD_PURE_PYTHON asks for the Python engine")
@pytest.mark.skipif(not _compiler(), reason="no C compiler or Python headers: the install keeps the Python engine")
def test_the_install_compiled_the_road_engine() -> None:
    """With a C compiler, ``pip install -e .`` compiles the engine (a failure here after editing one
    of its sources means: reinstall to compile it again)."""
    assert ENGINE_BUILD == "compiled", "the road engine runs as Python: reinstall with `pip install -e .`"


@pytest.mark.slow
@pytest.mark.skipif(ENGINE_BUILD != "compiled", reason="the road engine is not compiled in this install")
def test_compiled_engine_gives_exactly_the_python_engines_kpis() -> None:
    compiled, python = _kpis(False), _kpis(True)
    assert (compiled.pop("build"), python.pop("build")) == ("compiled", "python")
    assert len(compiled) >= 10 and compiled.keys() == python.keys()
    assert compiled["storm baseline"]["trips_completed"] > 0
    for case in compiled:
        assert compiled[case] == python[case], case


def _copy_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "twinworld", tmp_path / "twinworld", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "twinworld" / "systems" / "traffic"


def _which_build(path: Path) -> subprocess.CompletedProcess:
    code = ("import twinworld.systems.traffic as t, twinworld.systems.traffic.engine as e, "
            "twinworld.systems.traffic.informed as i;"
            "print(t.ENGINE_BUILD, e.__file__.endswith('.py'), i.TrafficEngine is e.TrafficEngine)")
    env = {**os.environ, "PYTHONPATH": str(path), "TWINWORLD_PURE_PYTHON": "0"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          cwd=path)


@pytest.mark.skipif(ENGINE_BUILD != "compiled", reason="the road engine is not compiled in this install")
def test_an_edited_source_runs_as_python_with_a_warning(tmp_path: Path) -> None:
    """After an edit to a compiled module's source the extension is stale: the package runs all four
    sources (never a mix) and says to reinstall."""
    traffic = _copy_package(tmp_path)
    fresh = _which_build(tmp_path)
    assert fresh.stdout.split() == ["compiled", "False", "True"], fresh.stderr
    with (traffic / "routing.py").open("a") as source:
        source.write("\n# an edit\n")
    stale = _which_build(tmp_path)
    assert stale.stdout.split() == ["python", "True", "True"], stale.stderr
    assert "older than its source (routing changed)" in stale.stderr
    assert "pip install -e ." in stale.stderr


def test_without_extensions_the_sources_run_silently(tmp_path: Path) -> None:
    traffic = _copy_package(tmp_path)
    for path in traffic.iterdir():
        if path.suffix in (".so", ".pyd") or path.name == "_compiled.json":
            path.unlink()
    done = _which_build(tmp_path)
    assert done.stdout.split() == ["python", "True", "True"]
    assert "Warning" not in done.stderr


def test_the_build_hook_and_the_selector_name_the_same_modules() -> None:
    """``hatch_build.py`` cannot import twinworld (it runs before twinworld is installed), so it
    keeps its own list of the compiled modules: it must be the selector's."""
    pytest.importorskip("hatchling", reason="hatchling is in the test extra")
    import importlib.util

    from twinworld.systems.traffic import _native

    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.MODULES == _native.MODULES
    assert hook.GROUP == "twinworld.systems.traffic._compiled"
    package = ROOT / hook.PACKAGE
    assert set(hook.source_digests(package)) == set(_native.MODULES)

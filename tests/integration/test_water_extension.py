"""A third-party system, installed the way users install one: the water-network example under
``examples/water`` is built and installed with pip (into a folder of its own, offline), found
through the ``twinworld.systems`` entry point, passes the contract test, and couples to the grid."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

EXAMPLE = ROOT / "examples" / "water"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(target), str(EXAMPLE)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (target / "twinworld_water").is_dir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_the_entry_point_registers_the_kind(installed: dict[str, str]) -> None:
    code = ("from twinworld.scenario.registry import default_registry; r = default_registry(); "
            "print(sorted(r.kinds)); print(r.get('water_network').build.__module__)")
    out = subprocess.run([sys.executable, "-c", code], env=installed, capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert "water_network" in out[0] and "hospital_region" in out[0]
    assert out[1] == "twinworld_water.model"


def test_the_contract_test_passes_for_the_water_network(installed: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "contract"), "-k", "water_network"],
                          env=installed, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "8 passed" in done.stdout                 # every contract check ran for the water network


def test_a_grid_outage_cascades_to_the_pumps_and_the_hospital(installed: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "twinworld", "run", str(EXAMPLE / "scenario.yaml"),
                           "--strategy", "all", "--seed", "9"], env=installed, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[3:6]]
            for line in done.stdout.splitlines() if line.startswith("│") and "(" in line}
    baseline, _, diesel = (float(v.replace(",", "")) for v in rows["unmet_demand_m3 (m3)"])
    assert baseline > 1000 and diesel < baseline      # the dark bus stopped the pump; diesel helps
    assert float(rows["patients_turned_away (patients)"][0]) > 0   # ... and the hospital felt it

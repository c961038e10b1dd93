"""Helpers shared by tests: run the CLI as a user would, build small scenarios."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m twinworld ARGS`` the way a user would, capturing its output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "twinworld", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_hospital(*, beds: int, arrivals_per_h: float, los_h: float, max_wait: str | None,
                 horizon_h: float, census: int = 0, distribution: str = "exponential") -> dict:
    """A single-hospital scenario mapping (an M/M/c or M/M/c/c queue when exponential)."""
    system = {
        "kind": "hospital_region",
        "hospitals": [{"name": "H", "ward_beds": beds, "arrivals_per_day": arrivals_per_h * 24,
                       "census": {"ward": census}}],
        "patient_classes": [{"name": "any", "share": 1, "bed": "ward",
                             "los": {"distribution": distribution, "mean": los_h, "cv": 1.0}}],
    }
    if max_wait is not None:
        system["max_wait"] = max_wait
    return {"twinworld": 1, "name": "queue", "horizon": horizon_h, "systems": {"h": system}}


# --- queueing-theory oracles shared by the validation tests ---------------------------------
def erlang_b(c: int, load: float) -> float:
    """Share of arrivals lost in an M/M/c/c system with offered load ``load`` (erlangs)."""
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(c: int, load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``load``."""
    b = erlang_b(c, load)
    rho = load / c
    return b / (1 - rho + rho * b)


def ci95(samples: list[float]) -> tuple[float, float]:
    """Student-t 95% confidence interval of the mean of independent replications."""
    import math

    import numpy as np
    from scipy import stats

    arr = np.asarray(samples)
    half = stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size)
    return arr.mean() - half, arr.mean() + half

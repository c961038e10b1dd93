"""The search space of a scenario's levers: lever values <-> the optimiser's real vectors.

A range lever is a real variable in its own unit (snapped to its step or to whole numbers when it
has one); a choice lever is the index of the choice (snapped to a whole number). Snapping happens
in the optimiser's repair step, so every vector it proposes is a candidate that can be run, and two
vectors that mean the same candidate get the same key (and one evaluation).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinworld.scenario.levers import Lever

__all__ = ["LeverSpace", "candidate_key"]


def candidate_key(values: Mapping[str, Any]) -> str:
    """``c-`` and 10 hex digits identifying a candidate by its lever values (stable across runs)."""
    text = json.dumps([[name, values[name]] for name in sorted(values)], sort_keys=True)
    return "c-" + hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class LeverSpace:
    """The levers of a ``levers:`` section as an optimiser sees them."""

    levers: dict[str, Lever]

    @property
    def names(self) -> list[str]:
        return list(self.levers)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of each variable."""
        low, high = [], []
        for lever in self.levers.values():
            if lever.choice is not None:
                low.append(0.0)
                high.append(float(len(lever.choice) - 1))
            else:
                low.append(lever.range[0])  # type: ignore[index]
                high.append(lever.range[1])  # type: ignore[index]
        return np.array(low), np.array(high)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Every row moved to the nearest value the levers allow (the optimiser's repair)."""
        out = np.array(x, dtype=float, copy=True).reshape(-1, len(self.levers))
        low, high = self.bounds()
        out = np.clip(out, low, high)
        for j, lever in enumerate(self.levers.values()):
            if lever.choice is not None:
                out[:, j] = np.round(out[:, j])
            else:
                step = lever.step or (1.0 if lever.integer else None)
                if step is not None:
                    k = np.floor((high[j] - low[j]) / step + 1e-9)
                    out[:, j] = low[j] + np.clip(np.round((out[:, j] - low[j]) / step), 0, k) * step
        return out

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """Lever values of one (snapped) vector."""
        values: dict[str, Any] = {}
        for value, (name, lever) in zip(self.snap(row)[0], self.levers.items()):
            if lever.choice is not None:
                values[name] = lever.choice[int(value)]
            elif lever.integer:
                values[name] = int(round(value))
            else:
                values[name] = float(round(value, 12))  # no float noise in keys or saved files
        return values

    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """The vector of lever values (choices by index)."""
        row = []
        for name, lever in self.levers.items():
            value = values[name]
            row.append(float(lever.choice.index(value)) if lever.choice is not None else float(value))
        return self.snap(np.array(row))[0]

    def latin_hypercube(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` snapped vectors spread over the space (one per stratum of each variable)."""
        low, high = self.bounds()
        u = (np.argsort(rng.random((len(self.levers), n)), axis=1).T + rng.random((n, len(self.levers)))) / n
        if np.any(~np.isfinite(low + high)):
            raise ValueError("lever bounds must be finite")
        spread = high - low
        # choices: strata over [-0.5, k - 0.5] so every index is as likely after rounding
        is_choice = np.array([lever.choice is not None for lever in self.levers.values()])
        start = np.where(is_choice, low - 0.5, low)
        width = np.where(is_choice, spread + 1.0, spread)
        return self.snap(start + u * width)

    def size(self) -> float:
        """How many distinct candidates there are (``inf`` with a continuous lever)."""
        total = 1.0
        for lever in self.levers.values():
            grid = lever.grid()
            total *= math.inf if grid is None else len(grid)
        return total

"""The folder of an optimisation: what was searched, every evaluation, the Pareto set.

Layout of ``DIR``::

    DIR/optimize.json        what is searched (fingerprint of the evaluations), status, counts
    DIR/design.csv           the sampled scenarios every candidate faces (one row per sample)
    DIR/evaluations/reference/          the named strategies on those samples (a sweep folder)
    DIR/evaluations/g003-1a2b3c4d/      one sweep folder per batch of new candidates
    DIR/candidates.parquet (.csv)       every candidate visited: levers, objectives, generation
    DIR/pareto.parquet (.csv), pareto.png, history.csv

A killed search resumes by replaying the optimiser with the same seed: every candidate already run
is read back from ``evaluations/`` (never recomputed), and a batch that was cut short is resumed by
the sweep engine inside its own folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.errors import SweepError

__all__ = ["OptimizeStore", "OptimizeError", "OPTIMIZE_VERSION"]

OPTIMIZE_VERSION = 1


class OptimizeError(SweepError):
    """An optimisation could not be set up, or its folder holds a different one."""


class OptimizeStore:
    """An optimisation folder (created if missing)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise OptimizeError(f"optimisation output {self.root} exists and is not a folder")
        self.evaluations = self.root / "evaluations"
        self.evaluations.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / "optimize.json"
        self.design_path = self.root / "design.csv"

    # ------------------------------------------------------------------------ manifest --
    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except json.JSONDecodeError as err:
            raise OptimizeError(f"{self.manifest_path}: not valid JSON ({err})") from err

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2, default=str))

    def check(self, fingerprint: str, scenario_name: str) -> dict[str, Any]:
        """The manifest found here, after checking it is an optimisation of the same evaluations."""
        old = self.read_manifest()
        if old is None:
            if any(self.evaluations.iterdir()):
                raise OptimizeError(f"{self.root} holds evaluations but no optimize.json; write to "
                                    "another folder or remove it")
            return {}
        if old.get("twinworld_optimize") != OPTIMIZE_VERSION:
            raise OptimizeError(f"{self.root} holds an unknown optimisation format "
                                f"{old.get('twinworld_optimize')!r}; write to another folder")
        if old.get("evaluation_sha256") != fingerprint:
            raise OptimizeError(
                f"{self.root} holds an optimisation of a different scenario or design "
                f"({old.get('scenario')!r}, or this one since edited: its systems, disruptions, "
                f"horizon, seed or search.scenarios changed); write to another folder or remove it")
        return old

    # -------------------------------------------------------------------------- design --
    def write_design(self, parameters: tuple[str, ...], values: np.ndarray) -> Path:
        """The samples as CSV (exact floats), unless the same samples are already there."""
        frame = pd.DataFrame(values, columns=list(parameters))
        if self.design_path.exists():
            old = pd.read_csv(self.design_path, float_precision="round_trip")
            if list(old.columns) == list(parameters) and np.array_equal(old.to_numpy(float), values):
                return self.design_path
            raise OptimizeError(f"{self.design_path} holds other samples than this search's; "
                                "write to another folder")
        temporary = self.design_path.with_name(".design.csv.tmp")
        frame.to_csv(temporary, index=False, float_format="%.17g")
        os.replace(temporary, self.design_path)
        return self.design_path

    # ---------------------------------------------------------------------- evaluations --
    def batch_folder(self, generation: int, keys: list[str]) -> Path:
        digest = hashlib.sha256("|".join(sorted(keys)).encode()).hexdigest()[:8]
        return self.evaluations / f"g{generation:03d}-{digest}"

    @property
    def reference_folder(self) -> Path:
        return self.evaluations / "reference"

    def cached_runs(self, runs_per_candidate: int) -> dict[str, pd.DataFrame]:
        """Every candidate with all its runs on disk: strategy name -> its rows."""
        from twinworld.experiments.store import ResultStore

        found: dict[str, pd.DataFrame] = {}
        for folder in sorted(self.evaluations.glob("g*-*")):
            if not (folder / "manifest.json").exists():
                continue
            frame = ResultStore(folder, write=False).load()
            for name, rows in frame.groupby("strategy", sort=False):
                if len(rows) >= runs_per_candidate and name not in found:
                    found[str(name)] = rows
        return found

    # ------------------------------------------------------------------------- tables --
    def write_table(self, frame: pd.DataFrame, stem: str) -> list[Path]:
        """``stem.parquet`` and ``stem.csv``, each written whole or not at all."""
        written = []
        for suffix in (".parquet", ".csv"):
            target = self.root / f"{stem}{suffix}"
            temporary = target.with_name(f".{target.name}.tmp")
            if suffix == ".parquet":
                frame.to_parquet(temporary)
            else:
                frame.to_csv(temporary)
            os.replace(temporary, target)
            written.append(target)
        return written


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

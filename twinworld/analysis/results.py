"""Reading a sweep's results folder (the results-store contract) into one typed object.

A sweep folder holds ``results/*.parquet`` (one row per run), ``manifest.json`` and
``scenario.yaml``. Rows pair up across strategies by ``(scenario_index, replication)``: for a given
pair every strategy saw the same sampled parameters and the same random numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.errors import SweepError
from twinworld.feeds.safe_files import describe_error
from twinworld.results import KPI_PREFIX, PARAM_PREFIX, KpiDefinition, definitions_from_manifest, kpi_name, read_runs
from twinworld.scenario.model import RankingSettings

__all__ = ["SweepResults", "load_results", "as_results", "BLOCK", "KPI_PREFIX", "PARAM_PREFIX"]

BLOCK = ["scenario_index", "replication"]
_REQUIRED = ("scenario_index", "replication", "strategy")


@dataclass
class SweepResults:
    """The runs of one sweep with what is needed to judge them.

    Attributes
    ----------
    runs
        One row per run (contract columns: ``strategy``, ``scenario_index``, ``replication``,
        ``status``, ``param.*``, ``kpi.*``).
    directions
        KPI name (without ``kpi.``) -> ``"minimize"`` or ``"maximize"``.
    units
        KPI name -> unit (may be empty).
    ranking
        The scenario's ``ranking:`` section.
    manifest
        The sweep's manifest (empty when the runs came from a DataFrame).
    path
        The sweep folder, if the results were read from one.
    """

    runs: pd.DataFrame
    directions: dict[str, str]
    units: dict[str, str] = field(default_factory=dict)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def kpis(self) -> list[str]:
        """KPI names present in the runs, in column order."""
        return [c[len(KPI_PREFIX):] for c in self.runs.columns if c.startswith(KPI_PREFIX)]

    @property
    def parameters(self) -> list[str]:
        """Sampled parameter columns (``param.<path>``)."""
        return [c for c in self.runs.columns if c.startswith(PARAM_PREFIX)]

    @property
    def strategies(self) -> list[str]:
        """Strategies in manifest order (else in order of first appearance)."""
        listed = [s for s in self.manifest.get("strategies", []) if s in set(self.runs["strategy"])]
        seen = list(dict.fromkeys(self.runs["strategy"]))
        return listed + [s for s in seen if s not in listed]

    @property
    def ok(self) -> pd.DataFrame:
        """Runs that finished (``status == "ok"``)."""
        if "status" not in self.runs:
            return self.runs
        return self.runs[self.runs["status"] == "ok"]

    @property
    def n_failed(self) -> int:
        """Runs that raised (their KPIs are NaN)."""
        return int(len(self.runs) - len(self.ok))

    def direction(self, kpi: str) -> str:
        """``"minimize"`` or ``"maximize"`` for ``kpi``; unknown KPIs are an error."""
        try:
            return self.directions[kpi]
        except KeyError:
            raise SweepError(f"no direction known for KPI {kpi!r}; known: "
                             f"{', '.join(sorted(self.directions)) or '(none)'}") from None

    def replications(self) -> int:
        """Replications per scenario sample present in the runs."""
        return int(self.runs["replication"].max()) + 1 if len(self.runs) else 0

    def scenarios(self) -> int:
        """Distinct scenario samples present in the runs."""
        return int(self.runs["scenario_index"].nunique())


def _registry_definitions(kpis: list[str]) -> dict[str, KpiDefinition]:
    """KPI definitions of installed plugins for runs without a manifest (a DataFrame): by exact
    KPI name only; a KPI two plugins define differently needs ``directions=``."""
    from twinworld.scenario.registry import default_registry

    found: dict[str, KpiDefinition] = {}
    for plugin in default_registry():
        for k in plugin.kpis:
            if k.name in kpis:
                known = found.get(k.name)
                if known is not None and known.direction != k.direction:
                    found.pop(k.name)
                    continue
                found[k.name] = KpiDefinition(k.name, "", k.name, k.direction, k.unit, k.description)
    return found


def _check_columns(runs: pd.DataFrame, where: str) -> None:
    missing = [c for c in _REQUIRED if c not in runs.columns]
    if missing:
        raise SweepError(f"{where}: missing columns {missing}; a results table needs "
                         f"{list(_REQUIRED)} plus kpi.<name> columns")
    if not any(c.startswith(KPI_PREFIX) for c in runs.columns):
        raise SweepError(f"{where}: no kpi.<name> columns")


def load_results(directory: str | Path) -> SweepResults:
    """Read a sweep folder written by ``twinworld sweep``.

    Parameters
    ----------
    directory
        The folder holding ``results/`` and ``manifest.json``.

    Raises
    ------
    SweepError
        When the folder has no results or its manifest is unreadable.
    """
    from twinworld.experiments.store import ResultStore

    directory = Path(directory)
    results_dir = directory / "results"
    files = ResultStore.parts_of(results_dir)
    if not files:
        raise SweepError(f"{directory}: no results/*.parquet; is this a sweep folder "
                         f"(written by `twinworld sweep SCENARIO --out {directory}`)?")
    manifest: dict[str, Any] = {}
    manifest_file = directory / "manifest.json"
    if manifest_file.exists():
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SweepError(f"{manifest_file}: not a readable JSON manifest ({describe_error(err)})") from err
    runs = read_runs(files)   # a resumed sweep may have re-written a run: the newest copy wins
    _check_columns(runs, str(results_dir))
    return _from_runs(runs, manifest, path=directory)


def _from_runs(runs: pd.DataFrame, manifest: Mapping[str, Any], *, path: Path | None = None,
               directions: Mapping[str, str] | None = None) -> SweepResults:
    kpis = [kpi_name(c) for c in runs.columns if c.startswith(KPI_PREFIX)]
    defined = definitions_from_manifest(manifest.get("kpis") or {})
    if not defined:
        defined = _registry_definitions(kpis)
    found_dirs = {name: d.direction.value for name, d in defined.items()}
    found_units = {name: d.unit for name, d in defined.items()}
    found_dirs.update(directions or {})
    for name, value in found_dirs.items():
        if value not in ("minimize", "maximize"):
            raise SweepError(f"KPI {name!r}: direction {value!r} is not minimize or maximize")
    try:
        ranking = RankingSettings.model_validate(manifest.get("ranking") or {})
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise SweepError(f"{path or 'manifest'}: its ranking section is invalid: {err}") from err
    runs = runs.copy()
    for col in ("scenario_index", "replication"):
        runs[col] = runs[col].astype(np.int64)
    runs["strategy"] = runs["strategy"].astype(str)
    return SweepResults(runs=runs, directions=dict(found_dirs), units=found_units, ranking=ranking,
                        manifest=dict(manifest), path=path)


def as_results(source: SweepResults | pd.DataFrame | str | Path, *,
               directions: Mapping[str, str] | None = None) -> SweepResults:
    """Accept a sweep folder, a :class:`SweepResults`, or a runs DataFrame (contract columns).

    ``directions`` overrides or completes KPI directions (needed for KPIs no plugin defines).
    """
    if isinstance(source, SweepResults):
        if directions:
            return SweepResults(source.runs, {**source.directions, **directions}, source.units,
                                source.ranking, source.manifest, source.path)
        return source
    if isinstance(source, pd.DataFrame):
        _check_columns(source, "runs DataFrame")
        return _from_runs(source, {}, directions=directions)
    loaded = load_results(source)
    return as_results(loaded, directions=directions) if directions else loaded

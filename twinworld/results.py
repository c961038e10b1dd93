"""The row a run becomes: one module owns its shape, its KPI names and how rows are read back.

A run reports a flat dict of KPIs per system. Where two systems of a scenario report a KPI of the
same name, both are stored with their system's name in front (``hospitals.transfers``); every
other KPI keeps its plain name. The definitions (direction, unit, system) are resolved once per
scenario by :func:`kpi_definitions` and written into a sweep's manifest, so nothing downstream
guesses them from names.

A stored row holds the base columns (:data:`BASE_COLUMNS`), the sampled parameters as
``param.<path>`` and the KPIs as ``kpi.<name>``. :func:`read_runs` is the one reader of a folder
of Parquet parts (the newest copy of a run id wins).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twinworld.errors import SweepError
from twinworld.feeds.safe_files import describe_error
from twinworld.systems.base import Direction

if TYPE_CHECKING:
    from twinworld.scenario.model import Scenario

__all__ = ["KPI_PREFIX", "PARAM_PREFIX", "CASCADE_PREFIX", "BASE_COLUMNS", "KpiDefinition", "RunResult",
           "kpi_definitions", "kpi_column", "param_column", "kpi_name", "param_name", "merge_kpis", "run_row",
           "failed_row", "read_runs", "order_columns", "definitions_to_manifest",
           "definitions_from_manifest"]

KPI_PREFIX = "kpi."
PARAM_PREFIX = "param."
CASCADE_PREFIX = "cascade."   # cascade.<root system>.<outcome system>.<outcome>: amounts
BASE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("run_id", pa.string()), ("scenario_index", pa.int64()), ("replication", pa.int64()),
    ("strategy", pa.string()), ("seed", pa.int64()), ("status", pa.string()), ("error", pa.string()),
    ("attempts", pa.int64()), ("wall_s", pa.float64()),
)


def kpi_column(name: str) -> str:
    """``patients_turned_away`` -> ``kpi.patients_turned_away`` (idempotent)."""
    return name if name.startswith(KPI_PREFIX) else KPI_PREFIX + name


def param_column(path: str) -> str:
    """``flu_wave.multiplier`` -> ``param.flu_wave.multiplier`` (idempotent)."""
    return path if path.startswith(PARAM_PREFIX) else PARAM_PREFIX + path


def kpi_name(column: str) -> str:
    return column.removeprefix(KPI_PREFIX)


def param_name(column: str) -> str:
    return column.removeprefix(PARAM_PREFIX)


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI as a scenario's runs report it.

    ``name`` is what results call it (``transfers``, or ``hospitals.transfers`` when another
    system reports a ``transfers`` too); ``kpi`` the plugin's own name; ``system`` the scenario's
    system that reports it.
    """

    name: str
    system: str
    kpi: str
    direction: Direction
    unit: str = ""
    description: str = ""

    @property
    def column(self) -> str:
        return kpi_column(self.name)


def kpi_definitions(scenario: Scenario) -> list[KpiDefinition]:
    """Every KPI a run of ``scenario`` reports, in system order, with clashing names prefixed."""
    registry = scenario.registry
    per_system = {name: registry.get(config.kind).kpis for name, config in scenario.systems.items()}
    counts: dict[str, int] = {}
    for kpis in per_system.values():
        for k in kpis:
            counts[k.name] = counts.get(k.name, 0) + 1
    return [KpiDefinition(f"{system}.{k.name}" if counts[k.name] > 1 else k.name, system, k.name,
                          k.direction, k.unit, k.description)
            for system, kpis in per_system.items() for k in kpis]


def merge_kpis(per_system: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """One flat dict from each system's KPIs, prefixing a name two systems share (as
    :func:`kpi_definitions` names them)."""
    counts: dict[str, int] = {}
    for kpis in per_system.values():
        for key in kpis:
            counts[key] = counts.get(key, 0) + 1
    return {f"{system}.{key}" if counts[key] > 1 else key: float(value)
            for system, kpis in per_system.items() for key, value in kpis.items()}


def definitions_to_manifest(definitions: Iterable[KpiDefinition]) -> dict[str, dict[str, str]]:
    """The ``kpis`` section of a sweep manifest."""
    return {d.name: {"direction": d.direction.value, "unit": d.unit, "system": d.system, "kpi": d.kpi,
                     "description": d.description} for d in definitions}


def definitions_from_manifest(section: Mapping[str, Any]) -> dict[str, KpiDefinition]:
    """Inverse of :func:`definitions_to_manifest`; entries without a valid direction are skipped."""
    found = {}
    for name, info in section.items():
        if not isinstance(info, Mapping) or info.get("direction") not in ("minimize", "maximize"):
            continue
        found[name] = KpiDefinition(name, str(info.get("system") or ""), str(info.get("kpi") or name),
                                    Direction(info["direction"]), str(info.get("unit") or ""),
                                    str(info.get("description") or ""))
    return found


@dataclass
class RunResult:
    """What one run reports: KPIs as a flat dict of floats, plus optional detail tables."""

    scenario: str
    strategy: str
    seed: int
    values: dict[str, float]
    kpis: dict[str, float]
    counters: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    cascades: dict[str, float] = field(default_factory=dict)
    cascade_events: list[Any] = field(default_factory=list)

    @property
    def cascade(self) -> pd.DataFrame:
        """Every cascade event of the run (id, time_h, system, element, what, detail, cause);
        made on demand, so sweeps do not pay for a table per run."""
        return pd.DataFrame([vars(e) for e in self.cascade_events],
                            columns=["id", "time_h", "system", "element", "what", "detail", "cause"])

    def row(self, **base: Any) -> dict[str, Any]:
        """The stored row: ``base`` columns (run id, sample index ...), ``param.*``, ``kpi.*``,
        ``cascade.*``."""
        return run_row(strategy=self.strategy, seed=self.seed, values=self.values, kpis=self.kpis,
                       wall_s=self.wall_s, cascades=self.cascades, **base)


def run_row(*, strategy: str, seed: int, values: Mapping[str, float], kpis: Mapping[str, float],
            wall_s: float, status: str = "ok", error: str = "", attempts: int = 1,
            cascades: Mapping[str, float] | None = None, **base: Any) -> dict[str, Any]:
    """A run's row: base columns, then ``param.<path>``, ``kpi.<name>`` and ``cascade.<chain>``."""
    row: dict[str, Any] = {**base, "strategy": strategy, "seed": int(seed), "status": status,
                           "error": error, "attempts": int(attempts), "wall_s": float(wall_s)}
    row.update((param_column(k), float(v)) for k, v in values.items())
    row.update((kpi_column(k), float(v)) for k, v in kpis.items())
    row.update((k, float(v)) for k, v in (cascades or {}).items())
    return row


def failed_row(*, strategy: str, seed: int, values: Mapping[str, float], error: str, attempts: int,
               wall_s: float = math.nan, **base: Any) -> dict[str, Any]:
    """The row of a run that did not finish: its KPIs are missing (NaN when read back)."""
    return run_row(strategy=strategy, seed=seed, values=values, kpis={}, wall_s=wall_s, status="failed",
                   error=error, attempts=attempts, **base)


def order_columns(names: Iterable[str]) -> list[str]:
    """Base columns first (in contract order), then ``param.*``, ``kpi.*``, anything else."""
    names = list(dict.fromkeys(names))
    base = [n for n, _ in BASE_COLUMNS if n in names]
    params = [n for n in names if n.startswith(PARAM_PREFIX)]
    kpis = [n for n in names if n.startswith(KPI_PREFIX)]
    cascades = sorted(n for n in names if n.startswith(CASCADE_PREFIX))
    known = set(base) | set(params) | set(kpis) | set(cascades)
    return base + params + kpis + cascades + [n for n in names if n not in known]


def _read_part(part: Path) -> pa.Table | None:
    """One part file; a damaged one is a SweepError naming it (never a raw pyarrow traceback)."""
    try:
        return pq.read_table(part)
    except FileNotFoundError:  # compacted away by a sweep running now: its rows are in a newer part
        return None
    except Exception as err:
        raise SweepError(f"{part}: damaged results file ({describe_error(err)}); run the sweep again "
                         f"into {part.parent.parent} to set it aside and compute its runs again") from err


def read_runs(parts: Iterable[str | Path]) -> pd.DataFrame:
    """The rows of these Parquet parts, one per run id (the newest part wins), ordered by run id.

    Parts are read oldest first (the order given); columns missing from older parts are filled
    with nulls. With no parts, an empty frame with the base columns.
    """
    tables = [table for table in (_read_part(Path(p)) for p in parts) if table is not None]
    if not tables:
        return pd.DataFrame({name: pd.Series(dtype=t.to_pandas_dtype()) for name, t in BASE_COLUMNS})
    frame = pa.concat_tables(tables, promote_options="default").to_pandas()
    if "run_id" in frame:
        frame = frame.drop_duplicates("run_id", keep="last").sort_values("run_id", kind="stable")
    return frame.reset_index(drop=True)[order_columns(frame.columns)]

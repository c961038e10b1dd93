"""A sweep folder seen through DuckDB: every aggregate the explorer shows is computed server-side.

The browser never receives the runs themselves: it gets per-strategy quantiles, histogram bins,
regret summaries and a bounded sample of points. The runs are read once from
``DIR/results/*.parquet`` into an in-memory DuckDB table (one row per run id, the newest file
winning, as the results store does) and re-read when the folder's files change, so a sweep that is
still running can be watched.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.dashboard.options import DashboardError

__all__ = ["SweepSource", "Filters", "SweepStatus", "open_sweep"]

_BLOCK = ("scenario_index", "replication")


@dataclass(frozen=True)
class Filters:
    """What the explorer is narrowed to: parameter ranges (closed intervals) and one strategy."""

    ranges: tuple[tuple[str, float, float], ...] = ()
    strategy: str | None = None

    @classmethod
    def of(cls, ranges: Mapping[str, tuple[float, float]] | None = None,
           strategy: str | None = None) -> "Filters":
        items = tuple(sorted((k, float(lo), float(hi)) for k, (lo, hi) in (ranges or {}).items()))
        return cls(items, strategy or None)


@dataclass(frozen=True)
class SweepStatus:
    """How far a sweep folder got: what the page and the terminal say about it."""

    path: Path
    runs: int
    failed: int
    planned: int
    complete: bool

    def message(self) -> str:
        """A one-line note when the sweep is unfinished or has failed runs, else ``""``."""
        notes = []
        if not self.complete:
            done = (f"{self.runs:,} of {self.planned:,} runs" if self.runs < self.planned
                    else f"its manifest says complete: false; {self.runs:,} runs recorded")
            notes.append(f"{self.path}: the sweep is not finished ({done}); figures show the runs done "
                         f"so far. Resume it with `twinworld sweep SCENARIO --out {self.path}`.")
        if self.failed:
            notes.append(f"{self.failed:,} run(s) failed and are left out of the statistics.")
        return " ".join(notes)


def _sql_string(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SweepSource:
    """One sweep folder with the queries the explorer needs.

    Parameters
    ----------
    path
        The folder written by ``twinworld sweep`` (``results/``, ``manifest.json``).

    Raises
    ------
    DashboardError
        The folder does not exist, holds no results, or its manifest is unreadable.
    """

    def __init__(self, path: str | Path) -> None:
        import duckdb

        self.path = Path(path)
        self.manifest = _read_manifest(self.path)
        self._lock = threading.RLock()
        self._con = duckdb.connect()
        self._signature: tuple = ()
        self._cache: dict[tuple, Any] = {}
        self._pending: dict[tuple, threading.Lock] = {}
        self.columns: list[str] = []
        self.refresh()

    # ------------------------------------------------------------------------ loading --
    def _files(self) -> list[Path]:
        from twinworld.experiments.store import ResultStore

        return ResultStore.parts_of(self.path / "results")   # the store's own listing of its parts

    def refresh(self) -> bool:
        """Re-read the runs if the folder's files changed; True when they did."""
        files = self._files()
        if not files:
            raise DashboardError(f"{self.path}: no results/*.parquet; is this a sweep folder "
                                 f"(written by `twinworld sweep SCENARIO --out {self.path}`)?")
        signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        with self._lock:
            if signature == self._signature:
                return False
            listing = "[" + ", ".join(_sql_string(p) for p in files) + "]"
            try:
                self._con.execute(
                    "CREATE OR REPLACE TABLE runs AS SELECT * EXCLUDE (filename) FROM "
                    f"read_parquet({listing}, union_by_name=true, filename=true) "
                    "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY filename DESC) = 1")
            except Exception as err:  # duckdb raises its own error classes
                raise DashboardError(f"{self.path}: the results cannot be read ({err})") from err
            self.columns = [row[0] for row in self._con.execute("DESCRIBE runs").fetchall()]
            for needed in ("run_id", "strategy", *_BLOCK):
                if needed not in self.columns:
                    raise DashboardError(f"{self.path}: results lack the {needed!r} column; "
                                         "not a twinworld sweep")
            self._signature = signature
            self._cache.clear()
            return True

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run ``sql`` against the ``runs`` table on a cursor of its own (thread-safe)."""
        with self._lock:
            cursor = self._con.cursor()
        try:
            return cursor.execute(sql, params or []).df()
        finally:
            cursor.close()

    # ------------------------------------------------------------------------ metadata --
    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario") or self.path.name)

    @property
    def kpis(self) -> list[str]:
        return [c[4:] for c in self.columns if c.startswith("kpi.")]

    @property
    def parameters(self) -> list[str]:
        return [c[6:] for c in self.columns if c.startswith("param.")]

    @property
    def strategies(self) -> list[str]:
        present = self.cached(("strategies",), lambda: self.query(
            "SELECT DISTINCT strategy FROM runs")["strategy"].tolist())
        listed = [s for s in self.manifest.get("strategies", []) if s in present]
        return listed + sorted(s for s in present if s not in listed)

    def direction(self, kpi: str) -> str:
        """From the KPI definitions the sweep wrote into its manifest (minimize when unknown)."""
        from twinworld.results import definitions_from_manifest

        known = definitions_from_manifest(self.manifest.get("kpis") or {}).get(kpi)
        return known.direction.value if known is not None else "minimize"

    def unit(self, kpi: str) -> str:
        return str(((self.manifest.get("kpis") or {}).get(kpi) or {}).get("unit") or "")

    @property
    def primary(self) -> str | None:
        wanted = (self.manifest.get("ranking") or {}).get("primary")
        return wanted if wanted in self.kpis else (self.kpis[0] if self.kpis else None)

    def status(self) -> SweepStatus:
        counts = self.query("SELECT count(*) AS n, count(*) FILTER (WHERE status = 'failed') AS failed "
                            "FROM runs").iloc[0]
        planned = int(self.manifest.get("runs") or _planned(self.manifest) or counts["n"])
        complete = bool(self.manifest.get("complete", True)) and int(counts["n"]) >= planned
        return SweepStatus(self.path, int(counts["n"]), int(counts["failed"]), planned, complete)

    def parameter_ranges(self) -> dict[str, tuple[float, float]]:
        if not self.parameters:
            return {}
        parts = ", ".join(f"min({_quote('param.' + p)}), max({_quote('param.' + p)})" for p in self.parameters)
        row = self.query(f"SELECT {parts} FROM runs").iloc[0].tolist()
        return {p: (float(row[2 * i]), float(row[2 * i + 1])) for i, p in enumerate(self.parameters)}

    # ------------------------------------------------------------------------ filtering --
    def _where(self, filters: Filters, *, strategy: bool = True, ok: bool = True) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if ok and "status" in self.columns:
            clauses.append("status = 'ok'")
        for name, low, high in filters.ranges:
            if name not in self.parameters:
                raise DashboardError(f"unknown parameter {name!r}; known: {', '.join(self.parameters)}")
            clauses.append(f"{_quote('param.' + name)} BETWEEN ? AND ?")
            params += [low, high]
        if strategy and filters.strategy:
            clauses.append("strategy = ?")
            params.append(filters.strategy)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _kpi(self, kpi: str) -> str:
        if kpi not in self.kpis:
            raise DashboardError(f"unknown KPI {kpi!r}; known: {', '.join(self.kpis)}")
        return _quote("kpi." + kpi)

    def cached(self, key: tuple, compute: Any) -> Any:
        """``compute()`` once per key until the folder changes; a second caller waits for the first."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = compute()
            with self._lock:
                self._cache[key] = value
                self._pending.pop(key, None)
            return value

    def peek(self, key: tuple) -> Any:
        """A cached value, or None (never computes)."""
        with self._lock:
            return self._cache.get(key)

    # ------------------------------------------------------------------------ aggregates --
    def counts(self, filters: Filters) -> pd.DataFrame:
        """Runs per strategy (``runs``, ``failed``) under the filters."""
        where, params = self._where(filters, ok=False)
        failed = "count(*) FILTER (WHERE status = 'failed')" if "status" in self.columns else "0"
        return self.query(f"SELECT strategy, count(*) AS runs, {failed} AS failed FROM runs{where} "
                          "GROUP BY strategy ORDER BY strategy", params)

    def box_stats(self, kpi: str, filters: Filters) -> pd.DataFrame:
        """Per strategy: n, mean, min, p10, q1, median, q3, p90, max of ``kpi``."""
        col = self._kpi(kpi)
        where, params = self._where(filters)
        frame = self.query(
            f"SELECT strategy, count({col}) AS n, avg({col}) AS mean, min({col}) AS min, "
            f"quantile_cont({col}, [0.1, 0.25, 0.5, 0.75, 0.9]) AS q, max({col}) AS max "
            f"FROM runs{where} GROUP BY strategy", params)
        quantiles = pd.DataFrame(frame.pop("q").tolist(), columns=["p10", "q1", "median", "q3", "p90"])
        return self._in_order(pd.concat([frame, quantiles], axis=1))

    def histogram(self, kpi: str, filters: Filters, *, bins: int = 30) -> pd.DataFrame:
        """Counts of ``kpi`` in ``bins`` equal bins shared by every strategy (``left``, ``right``)."""
        col = self._kpi(kpi)
        where, params = self._where(filters)
        span = self.query(f"SELECT min({col}) AS lo, max({col}) AS hi FROM runs{where}", params).iloc[0]
        if pd.isna(span["lo"]):
            return pd.DataFrame(columns=["strategy", "left", "right", "count"])
        low, high = float(span["lo"]), float(span["hi"])
        width = (high - low) / bins if high > low else 1.0
        frame = self.query(
            f"SELECT strategy, least(CAST(floor(({col} - ?) / ?) AS INTEGER), ?) AS bin, count(*) AS count "
            f"FROM runs{where}{' AND' if where else ' WHERE'} {col} IS NOT NULL GROUP BY strategy, bin",
            [low, width, bins - 1, *params])
        frame["left"] = low + frame["bin"] * width
        frame["right"] = frame["left"] + width
        return self._in_order(frame.drop(columns="bin").sort_values(["strategy", "left"]))

    def regret(self, kpi: str, filters: Filters) -> pd.DataFrame:
        """Per strategy over complete blocks: mean, p90 and max regret, and P(best) with ties split.

        Regret is how much worse than the best strategy of the same block (scenario sample and
        replication) a run is; only blocks where every strategy finished count, as in ``rank``.
        """
        col = self._kpi(kpi)
        best = "min" if self.direction(kpi) == "minimize" else "max"
        where, params = self._where(filters, strategy=False)
        n_strategies = len(self.strategies)
        frame = self.query(f"""
            WITH cells AS (SELECT strategy, scenario_index, replication, {col} AS x FROM runs{where}),
            blocks AS (SELECT scenario_index, replication, {best}(x) AS best, count(x) AS k
                       FROM cells GROUP BY ALL HAVING count(x) = {n_strategies}),
            scored AS (SELECT c.strategy, abs(c.x - b.best) AS regret, (c.x = b.best)::INTEGER AS is_best,
                              scenario_index, replication
                       FROM cells c JOIN blocks b USING (scenario_index, replication)),
            ties AS (SELECT scenario_index, replication, sum(is_best) AS n_best FROM scored GROUP BY ALL)
            SELECT strategy, count(*) AS blocks, avg(regret) AS mean_regret,
                   quantile_cont(regret, 0.9) AS p90_regret, max(regret) AS max_regret,
                   avg(is_best / n_best) AS p_best
            FROM scored JOIN ties USING (scenario_index, replication) GROUP BY strategy""", params)
        if filters.strategy:
            frame = frame[frame["strategy"] == filters.strategy]
        return self._in_order(frame)

    def summary(self, kpi: str, filters: Filters, *, alpha: float = 0.9) -> pd.DataFrame:
        """Per strategy: runs, mean, median, p90 (worst side), CVaR at ``alpha``, regrets, P(best).

        The same figures as ``rank``'s summary (without intervals), computed by DuckDB over the
        blocks (scenario sample, replication) where every strategy finished, as ``rank`` pairs them;
        ``runs`` counts those blocks. CVaR is exact on the empirical distribution
        (Rockafellar–Uryasev): the worst ``(1 - alpha) n`` runs count fully and the boundary run by
        its fraction.
        """
        col = self._kpi(kpi)
        minimize = self.direction(kpi) == "minimize"
        where, params = self._where(filters, strategy=False)
        n_strategies = len(self.strategies)
        frame = self.query(f"""
            WITH cells AS (SELECT strategy, scenario_index, replication, {col} AS x FROM runs{where}),
            complete AS (SELECT scenario_index, replication FROM cells GROUP BY ALL
                         HAVING count(x) = {n_strategies}),
            c AS (SELECT strategy, x,
                         row_number() OVER (PARTITION BY strategy ORDER BY x {'DESC' if minimize else 'ASC'}) AS rn,
                         count(*) OVER (PARTITION BY strategy) AS n
                  FROM cells JOIN complete USING (scenario_index, replication))
            SELECT strategy, count(*) AS runs, avg(x) AS mean, median(x) AS median,
                   quantile_cont(x, {0.9 if minimize else 0.1}) AS p90,
                   sum(x * least(1.0, greatest(0.0, (1 - ?) * n - (rn - 1)))) / ((1 - ?) * max(n)) AS cvar
            FROM c GROUP BY strategy""", [*params, alpha, alpha])
        if filters.strategy:
            frame = frame[frame["strategy"] == filters.strategy]
        regret = self.regret(kpi, filters)[["strategy", "mean_regret", "max_regret", "p_best"]]
        return self._in_order(frame.merge(regret, on="strategy", how="left"))

    def sample(self, x: str, kpi: str, filters: Filters, *, limit: int = 2000) -> pd.DataFrame:
        """At most ``limit`` runs (a fixed pseudo-random subset by run id) with ``x`` and ``kpi``."""
        col = self._kpi(kpi)
        xcol = _quote("param." + x) if x in self.parameters else self._kpi(x)
        where, params = self._where(filters)
        return self.query(f"SELECT run_id, strategy, scenario_index, replication, {xcol} AS x, {col} AS y "
                          f"FROM runs{where} ORDER BY hash(run_id) LIMIT {int(limit)}", params)

    def worst_runs(self, kpi: str, filters: Filters, *, limit: int = 10) -> pd.DataFrame:
        """The ``limit`` runs with the worst ``kpi`` under the filters, worst first."""
        col = self._kpi(kpi)
        order = "DESC" if self.direction(kpi) == "minimize" else "ASC"
        where, params = self._where(filters)
        shown = ", ".join(_quote("param." + p) for p in self.parameters)
        return self.query(f"SELECT run_id, strategy, seed, {col} AS value{', ' + shown if shown else ''} "
                          f"FROM runs{where} ORDER BY {col} {order} NULLS LAST, run_id LIMIT {int(limit)}",
                          params)

    def run_row(self, run_id: str) -> dict[str, Any]:
        """One run's row (seed, strategy, sampled values, KPIs)."""
        frame = self.query("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if frame.empty:
            raise DashboardError(f"{self.path}: no run {run_id!r}")
        return {k: _plain(v) for k, v in frame.iloc[0].items()}

    def frame(self, kpis: list[str], filters: Filters) -> pd.DataFrame:
        """The columns ``rank`` needs (block, strategy, status, params, ``kpis``) under the filters."""
        where, params = self._where(filters, strategy=False, ok=False)
        columns = ["run_id", "strategy", *_BLOCK] + (["status"] if "status" in self.columns else [])
        columns += ["param." + p for p in self.parameters] + ["kpi." + k for k in kpis]
        return self.query(f"SELECT {', '.join(_quote(c) for c in columns)} FROM runs{where}", params)

    def _in_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        order = {s: i for i, s in enumerate(self.strategies)}
        frame = frame.assign(_o=frame["strategy"].map(order)).sort_values(["_o"], kind="stable")
        return frame.drop(columns="_o").reset_index(drop=True)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _planned(manifest: Mapping[str, Any]) -> int:
    try:
        return int(manifest["scenarios"]) * int(manifest["replications"]) * len(manifest["strategies"])
    except (KeyError, TypeError, ValueError):
        return 0


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise DashboardError(f"{path}: no such folder (give a folder written by `twinworld sweep`)")
    if not path.is_dir():
        raise DashboardError(f"{path}: not a folder (give a folder written by `twinworld sweep`)")
    manifest_file = path / "manifest.json"
    if not manifest_file.exists():
        return {}
    try:
        data = json.loads(manifest_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DashboardError(f"{manifest_file}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise DashboardError(f"{manifest_file}: not a JSON object")
    return data


@dataclass
class OpenedSweep:
    """A sweep argument after opening: the source, or the reason it could not be opened."""

    path: Path
    source: SweepSource | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)
    warming: Any = None  # the thread ranking it in advance


def open_sweep(path: str | Path) -> OpenedSweep:
    """Open a sweep folder, turning every problem into a message instead of an exception."""
    try:
        source = SweepSource(path)
    except DashboardError as err:
        return OpenedSweep(Path(path), error=str(err))
    note = source.status().message()
    return OpenedSweep(Path(path), source, notes=[note] if note else [])


def finite(value: Any) -> bool:
    """True for a real, finite number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

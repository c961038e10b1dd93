"""The results store of a sweep: a Parquet dataset written in batches, a manifest, compaction.

Layout of a sweep folder ``DIR``::

    DIR/manifest.json             what was swept (scenario hash, design, parameters, KPI directions)
    DIR/scenario.yaml             the scenario as swept
    DIR/results/part-00000001.parquet ...   one row per run

Rows are appended as runs finish, in batches (one new file per batch, written under a hidden name,
flushed to disk and renamed, so a killed driver never leaves half a file). A later sweep into the
same folder reads only the ``run_id`` column of what is there and computes the rest. At the end the
batch files are compacted (with DuckDB, out of core, deduplicated by run id and sorted) into a few
files. The newest file wins when a run id appears twice (a retried failure).

One process writes a folder at a time (``DIR/.lock``, see :mod:`.integrity`); a part file that does
not read back when the folder is opened for writing is moved to ``DIR/quarantine/`` and its runs
are computed again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twinworld.errors import OutputError, SweepError, output_error
from twinworld.experiments.integrity import FolderLock, check_part, quarantine, write_durable
from twinworld.feeds.safe_files import describe_error
from twinworld.results import (
    BASE_COLUMNS,
    CASCADE_PREFIX,
    KPI_PREFIX,
    kpi_column,
    order_columns,
    param_column,
    read_runs,
)

__all__ = ["ResultStore", "BatchWriter", "BASE_COLUMNS", "MANIFEST_VERSION"]

MANIFEST_VERSION = 1
_PART = "part-{:08d}.parquet"


class ResultStore:
    """A sweep folder.

    Parameters
    ----------
    root
        The folder (created if missing). An interrupted compaction found there is completed.
    write
        Open it to write (the default): take the folder's lock, tidy up after a crash, set damaged
        parts aside. ``write=False`` only reads what is there (no lock, nothing changed).
    """

    def __init__(self, root: str | Path, *, write: bool = True) -> None:
        self.root = Path(root)
        self.results = self.root / "results"
        self.manifest_path = self.root / "manifest.json"
        self.quarantined: list[dict[str, str]] = []
        self.lock: FolderLock | None = None
        if not write:
            return
        if self.root.exists() and not self.root.is_dir():
            raise output_error(self.root, NotADirectoryError(20, "a file is in the way, not a folder"),
                               doing="write results into")
        try:
            self.results.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise output_error(self.results, err, doing="create") from err
        self.lock = FolderLock(self.root)
        try:
            self._recover()
            self.quarantined = self._set_aside_damaged()
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        """Release the folder for other writers (also done by the OS if this process dies)."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------- files --
    def parts(self) -> list[Path]:
        """The dataset's files, oldest first."""
        return self.parts_of(self.results)

    @staticmethod
    def parts_of(results: Path) -> list[Path]:
        """The part files of a ``results/`` folder, oldest first (none if it does not exist)."""
        if not results.is_dir():
            return []
        return sorted(p for p in results.glob("part-*.parquet") if p.is_file())

    def _next_number(self) -> int:
        numbers = [int(p.stem.split("-")[1]) for p in self.parts()]
        return max(numbers, default=0) + 1

    def _recover(self) -> None:
        try:
            for leftover in [*self.results.glob(".tmp-*"), *self.root.glob(".*.tmp")]:
                leftover.unlink(missing_ok=True)  # safe: this process holds the lock
            staging = self.root / ".compact"
            plan_file = staging / "plan.json"
            if plan_file.exists():
                self._finish_compaction(json.loads(plan_file.read_text()))
            if staging.exists():
                shutil.rmtree(staging)
        except OSError as err:
            raise output_error(self.root, err, doing="tidy") from err

    def _set_aside_damaged(self) -> list[dict[str, str]]:
        """Move part files that do not read back to ``quarantine/``; describe each moved one."""
        moved = []
        for part in self.parts():
            reason = check_part(part)
            if reason is not None:
                moved.append(quarantine(self.root, part, reason))
        return moved

    # -------------------------------------------------------------------------- manifest --
    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except json.JSONDecodeError as err:
            raise SweepError(f"{self.manifest_path} is not valid JSON ({err}); "
                             "remove it to start this sweep afresh") from err

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
        write_durable(self.manifest_path, lambda path: path.write_text(text))

    def write_scenario(self, text: str) -> None:
        write_durable(self.root / "scenario.yaml", lambda path: path.write_text(text, encoding="utf-8"))

    # -------------------------------------------------------------------------- reading --
    def finished(self, *, include_failed: bool = True) -> set[str]:
        """Run ids already in the dataset (only ``run_id``/``status`` are read)."""
        ids: set[str] = set()
        for part in self.parts():
            table = pq.read_table(part, columns=["run_id", "status"])
            run_ids = table.column("run_id").to_pylist()
            if include_failed:
                ids.update(run_ids)
            else:
                ids.update(r for r, s in zip(run_ids, table.column("status").to_pylist()) if s == "ok")
        return ids

    def counts(self) -> tuple[int, int]:
        """(distinct run ids, of which failed) in the dataset, reading two columns."""
        latest: dict[str, str] = {}
        for part in self.parts():
            table = pq.read_table(part, columns=["run_id", "status"])
            latest.update(zip(table.column("run_id").to_pylist(), table.column("status").to_pylist()))
        return len(latest), sum(status == "failed" for status in latest.values())

    def columns(self) -> list[str]:
        """Every column of every file, in the contract's order (base, params, KPIs)."""
        seen: dict[str, None] = {}
        for part in self.parts():
            for name in pq.read_schema(part).names:
                seen.setdefault(name, None)
        return order_columns(seen)

    def load(self) -> pd.DataFrame:
        """The whole dataset as a DataFrame ordered by run id (one row per run id, newest wins)."""
        return read_runs(self.parts())

    # -------------------------------------------------------------------------- writing --
    def writer(self, parameters: Sequence[str], kpis: Sequence[str], *, batch_rows: int = 5000,
               flush_s: float = 1.0, max_flush_s: float = 10.0) -> "BatchWriter":
        return BatchWriter(self, parameters, kpis, batch_rows=batch_rows, flush_s=flush_s,
                           max_flush_s=max_flush_s)

    def write_part(self, table: pa.Table) -> Path:
        """Add ``table`` as a new part file, durably (an OutputError leaves the dataset as it was)."""
        target = self.results / _PART.format(self._next_number())
        return write_durable(target, lambda path: pq.write_table(table, path, write_page_checksum=True))

    # -------------------------------------------------------------------------- compaction --
    def compact(self, *, file_size: str = "256MB", memory_limit: str = "512MB") -> list[Path]:
        """Rewrite the dataset as a few files sorted by run id, one row per run id.

        Uses DuckDB so the sort runs out of core within ``memory_limit``. Crash-safe: the new files
        are staged with a plan; a store opened after a crash finishes or drops the compaction.

        Raises
        ------
        OutputError
            The new files cannot be written (a full disk); the dataset is left as it was.
        """
        parts = self.parts()
        if not parts:
            return parts
        staging = self.root / ".compact"
        try:
            self._compact_into(staging, parts, file_size=file_size, memory_limit=memory_limit)
        except Exception as err:  # an OSError, or DuckDB's IOException on a full disk
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(err, OSError):
                raise output_error(self.root, err, doing="compact") from err
            if type(err).__module__.startswith("duckdb"):
                raise OutputError(f"cannot compact {self.root}: {describe_error(err)}") from err
            raise
        return self.parts()

    def _compact_into(self, staging: Path, parts: list[Path], *, file_size: str, memory_limit: str) -> None:
        import duckdb

        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        columns = ", ".join(f'"{c}"' for c in self.columns())
        files = "[" + ", ".join(_sql_string(p) for p in parts) + "]"
        with duckdb.connect() as con:
            con.execute(f"SET memory_limit={_sql_string(memory_limit)}")
            con.execute(f"SET temp_directory={_sql_string(staging / 'spill')}")
            con.execute("SET preserve_insertion_order=true")
            con.execute(
                f"COPY (SELECT {columns} FROM read_parquet({files}, union_by_name=true, filename=true) "
                "QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY filename DESC) = 1 "
                f"ORDER BY run_id) TO {_sql_string(staging / 'out')} "
                f"(FORMAT parquet, FILE_SIZE_BYTES {_sql_string(file_size)}, ROW_GROUP_SIZE 122880)")
        produced = sorted((staging / "out").glob("*.parquet"), key=lambda p: _natural(p.name))
        first = self._next_number()
        plan = {"new": [[str(p), str(self.results / _PART.format(first + k))] for k, p in enumerate(produced)],
                "old": [str(p) for p in parts]}
        _atomic_write(staging / "plan.json", json.dumps(plan))
        self._finish_compaction(plan)
        shutil.rmtree(staging, ignore_errors=True)

    def _finish_compaction(self, plan: dict[str, Any]) -> None:
        for source, target in plan["new"]:
            if Path(source).exists():
                os.replace(source, target)
        for old in plan["old"]:
            Path(old).unlink(missing_ok=True)


class BatchWriter:
    """Buffers finished rows and writes them as a new Parquet file per batch.

    A batch is ``batch_rows`` rows or a time interval that starts at ``flush_s`` and grows with
    the sweep's age (5% of it) up to ``max_flush_s``: a killed sweep loses at most that much work,
    and a long sweep does not leave thousands of tiny files before compaction.
    """

    def __init__(self, store: ResultStore, parameters: Sequence[str], kpis: Sequence[str], *,
                 batch_rows: int, flush_s: float, max_flush_s: float = 10.0) -> None:
        self.store = store
        self.parameters = [param_column(p) for p in parameters]
        self.kpis = [kpi_column(k) for k in kpis]
        self.batch_rows = batch_rows
        self.flush_s = flush_s
        self.max_flush_s = max_flush_s
        self._rows: list[dict[str, Any]] = []
        self._born = self._last = time.monotonic()
        self.written = 0

    def schema(self) -> pa.Schema:
        return pa.schema(list(BASE_COLUMNS) + [(c, pa.float64()) for c in self.parameters + self.kpis])

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            for key in row:
                if key.startswith((KPI_PREFIX, CASCADE_PREFIX)) and key not in self.kpis:
                    self.kpis.append(key)
            self._rows.append(row)
        now = time.monotonic()
        interval = min(self.max_flush_s, max(self.flush_s, 0.05 * (now - self._born)))
        if len(self._rows) >= self.batch_rows or now - self._last >= interval:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one part; on an OutputError they stay buffered (unsaved)."""
        self._last = time.monotonic()
        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema())
        self.store.write_part(table)
        self.written += len(self._rows)
        self._rows = []

    @property
    def unsaved(self) -> int:
        """Finished rows not yet in a part file."""
        return len(self._rows)


def _natural(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


def _sql_string(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

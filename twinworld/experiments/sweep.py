"""``sweep``: every scenario sample x every strategy x R replications, in parallel, resumable.

>>> import twinworld
>>> results = twinworld.sweep("scenarios/hospital_surge.yaml", "out/surge", scenarios=50)  # doctest: +SKIP
>>> results.groupby("strategy")["kpi.patients_turned_away"].mean()                        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pandas as pd
import yaml
from pydantic import BaseModel

from twinworld.errors import OutputError, SweepError
from twinworld.params import Dist
from twinworld.experiments.design import Design, make_design, run_seed
from twinworld.experiments.executors import (Chunk, Executor, Outcome, Point, SlurmOptions,
                                             make_executor, pack_scenario)
from twinworld.experiments.progress import SweepProgress
from twinworld.experiments.store import MANIFEST_VERSION, BatchWriter, ResultStore

__all__ = ["sweep", "SweepSummary"]


class SweepSummary(dict):
    """Counts of a finished ``sweep`` call (also stored in ``DataFrame.attrs['sweep']``)."""


def sweep(scenario_or_path: Any, out: str | Path, *, scenarios: int | None = None,
          replications: int | None = None, design: str | None = None, workers: int | None = None,
          executor: str = "local", scheduler: str | None = None, slurm: SlurmOptions | None = None,
          strategies: Sequence[str] | None = None, max_retries: int | None = None,
          chunk_size: int | None = None, levels: Mapping[str, Sequence[float]] | None = None,
          design_csv: str | Path | None = None, retry_failed: bool = False, progress: bool = True,
          registry: Any = None, load: bool = True) -> pd.DataFrame | SweepSummary:
    """Run a sweep into the folder ``out`` and return its results.

    Parameters
    ----------
    scenario_or_path
        A :class:`~twinworld.scenario.Scenario` or a path to its YAML file.
    out
        The results folder (created). If it already holds part of this sweep, only the missing
        runs are computed.
    scenarios, replications, design, levels, design_csv, max_retries, chunk_size
        Override the scenario's ``sweep:`` section.
    workers
        Worker processes (default: every core).
    executor
        ``local`` (processes on this machine, the default), ``inprocess`` (debugging), ``dask``
        (a new LocalCluster, or the scheduler at ``scheduler``) or ``slurm`` (Dask workers as Slurm
        jobs, see ``slurm``).
    strategies
        Only these strategies (default: all).
    retry_failed
        Also recompute runs recorded as failed in ``out``.
    progress
        Show a progress bar (done, failed, rate, ETA).
    load
        Return the results as a DataFrame; ``False`` returns only the :class:`SweepSummary` (for
        sweeps too large for memory: query ``out/results`` with DuckDB instead).

    Returns
    -------
    pandas.DataFrame or SweepSummary
        One row per run ordered by ``run_id``: run id, scenario index, replication, strategy, seed,
        status, error, attempts, wall time, ``param.*`` and ``kpi.*`` columns; the summary (rows,
        computed now, failed, wall time, complete) is in ``.attrs["sweep"]``.

    Raises
    ------
    SweepError
        ``out`` holds a different sweep, or the design or executor is invalid.
    """
    scenario = _load(scenario_or_path, registry)
    settings = scenario.sweep
    plan = make_design(scenario, kind=design, scenarios=scenarios, replications=replications,
                       levels=levels, design_csv=design_csv, strategies=strategies)
    with ResultStore(out) as store:  # one writer at a time: a second sweep here is refused
        manifest, was_complete = _start_manifest(store, scenario, plan)
        if executor == "slurm":
            slurm = dataclasses.replace(slurm or SlurmOptions(), log_directory=(slurm and slurm.log_directory)
                                        or str(store.root.resolve() / "slurm-logs"))
        engine = make_executor(executor, workers=workers, scheduler=scheduler, slurm=slurm)
        driver = _Driver(scenario, plan, store, engine,
                         max_retries=settings.max_retries if max_retries is None else int(max_retries),
                         chunk_size=chunk_size or settings.chunk_size,
                         finished=store.finished(include_failed=not retry_failed))
        driver.start()  # workers start before the progress bar's thread does
        try:
            with SweepProgress(total=plan.total_runs, already=driver.already, enabled=progress,
                               label=f"{_short(scenario.name)} ({engine.name})") as bar:
                driver.run(bar)
        finally:
            engine.close()
        summary = _finish(store, manifest, scenario, driver, was_complete)
        if not load:
            return summary
        frame = store.load()
    frame.attrs["sweep"] = summary
    return frame


def _finish(store: ResultStore, manifest: dict[str, Any], scenario: Any, driver: "_Driver",
            was_complete: bool) -> SweepSummary:
    """Compact a completed dataset, record the outcome in the manifest, count the rows."""
    complete = driver.remaining == 0
    notes = [f"set aside damaged file {q['file']} ({q['reason']}); its runs were computed again"
             for q in store.quarantined]
    if complete and (driver.writer.written or not was_complete or store.quarantined):
        try:
            store.compact()
        except OutputError as err:  # every run is saved; only the tidy-up failed
            notes.append(f"{err}; the results are complete but left in {len(store.parts())} files")
    manifest.update(complete=complete, updated=_now(), runs=driver.plan.total_runs,
                    executor=driver.engine.name, kpis=_kpi_meta(scenario, driver.writer.kpis))
    store.write_manifest(manifest)
    rows, failed = store.counts()
    return SweepSummary(folder=str(store.root), runs=rows, computed=driver.computed, failed=failed,
                        wall_s=driver.wall_s, complete=complete, notes=notes)


def _load(source: Any, registry: Any) -> Any:
    from twinworld.scenario.model import Scenario

    if isinstance(source, Scenario):
        return source
    from twinworld.scenario.loader import load_scenario

    return load_scenario(source, registry=registry)


# ------------------------------------------------------------------------------ manifest --
def plain(obj: Any) -> Any:
    """A validated scenario (or part) as plain YAML/JSON data: every field, distributions as written.

    ``model_dump`` would serialise each system as the base ``SystemConfig`` it is declared as,
    dropping the plugin's own fields.
    """
    if isinstance(obj, BaseModel):
        return {name: plain(getattr(obj, name)) for name in type(obj).model_fields}
    if isinstance(obj, Dist):
        return obj.to_data()
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def scenario_digest(scenario: Any) -> str:
    """SHA-256 of the validated scenario's canonical JSON, ``sweep:`` section excluded (comments,
    layout and sweep sizes do not change what a run computes)."""
    data = plain(scenario)
    data.pop("sweep", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def design_digest(plan: Design) -> str:
    return hashlib.sha256(plan.values.tobytes() + "|".join(plan.parameters).encode()).hexdigest()


def _start_manifest(store: ResultStore, scenario: Any, plan: Design) -> tuple[dict[str, Any], bool]:
    """Check ``store`` holds nothing incompatible; write the manifest (incomplete) and scenario."""
    digest = scenario_digest(scenario)
    old = store.read_manifest()
    if old is not None:
        _check_compatible(store, old, scenario, plan, digest)
    manifest = {
        "twinworld_results": MANIFEST_VERSION, "scenario": scenario.name,
        "scenario_file": scenario.source, "scenario_sha256": digest, "design": plan.kind,
        "design_sha256": design_digest(plan), "scenarios": plan.scenarios,
        "replications": plan.replications, "strategies": list(plan.strategies),
        "parameters": list(plan.parameters), "kpis": (old or {}).get("kpis", {}),
        "ranking": scenario.ranking.model_dump(mode="json"), "seed": plan.seed,
        "created": (old or {}).get("created", _now()), "complete": False,
        "quarantined": list((old or {}).get("quarantined", [])) + store.quarantined,
    }
    store.write_manifest(manifest)
    store.write_scenario(_scenario_text(scenario))
    return manifest, bool(old and old.get("complete"))


def _check_compatible(store: ResultStore, old: Mapping[str, Any], scenario: Any, plan: Design,
                      digest: str) -> None:
    where = f"{store.root} holds results of"
    fix = "; write to another folder or remove it"
    if old.get("twinworld_results") != MANIFEST_VERSION:
        raise SweepError(f"{where} an unknown results format {old.get('twinworld_results')!r}{fix}")
    if old.get("scenario_sha256") != digest:
        raise SweepError(f"{where} a different scenario ({old.get('scenario')!r}, or this one since "
                         f"edited){fix}")
    if old.get("design") != plan.kind or old.get("seed") != plan.seed:
        raise SweepError(f"{where} a {old.get('design')} design with seed {old.get('seed')}, not "
                         f"{plan.kind} with seed {plan.seed}{fix}")
    if old.get("design_sha256") == design_digest(plan):
        return
    prefix_stable = plan.kind == "mc" and list(old.get("parameters", [])) == list(plan.parameters)
    if prefix_stable:
        n = min(int(old.get("scenarios", 0)), plan.scenarios)
        older = make_design(scenario, kind="mc", scenarios=int(old["scenarios"]), replications=1)
        if (older.values[:n] == plan.values[:n]).all():
            return
    raise SweepError(f"{where} a {old.get('design')} design of {old.get('scenarios')} scenario(s) whose "
                     f"sample points differ from these {plan.scenarios} (only Monte Carlo designs can "
                     f"grow in place){fix}")


def _scenario_text(scenario: Any) -> str:
    """The scenario file's own text, unless the swept scenario differs from it (``--set`` edits)."""
    if scenario.source and Path(scenario.source).is_file():
        from twinworld.scenario.loader import load_scenario

        text = Path(scenario.source).read_text(encoding="utf-8")
        try:
            again = load_scenario(scenario.source, registry=scenario.registry,
                                  **getattr(scenario, "_load_options", {}))
            same = scenario_digest(again) == scenario_digest(scenario)
        except Exception:  # the file changed since it was loaded, or no longer loads
            same = False
        if same:
            return text
    return ("# The scenario as swept (every field written out)\n"
            + yaml.safe_dump(plain(scenario), sort_keys=False, allow_unicode=True))


def _kpi_meta(scenario: Any, columns: Sequence[str]) -> dict[str, dict[str, str]]:
    meta = {}
    for column in columns:
        name = column.removeprefix("kpi.")
        kpi = scenario.registry.kpi(name) or scenario.registry.kpi(name.split(".", 1)[-1])
        meta[name] = {"direction": kpi.direction if kpi else "minimize", "unit": kpi.unit if kpi else ""}
    return meta


def declared_kpis(scenario: Any) -> list[str]:
    """KPI names a run of ``scenario`` reports (system-prefixed where two systems share one)."""
    per_system = {name: [k.name for k in scenario.registry.get(cfg.kind).kpis]
                  for name, cfg in scenario.systems.items()}
    names = [k for ks in per_system.values() for k in ks]
    return [f"{system}.{k}" if names.count(k) > 1 else k
            for system, ks in per_system.items() for k in ks]


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -------------------------------------------------------------------------------- driver --
class _Driver:
    """Feeds chunks to an executor, writes rows as they come back, retries lost runs."""

    def __init__(self, scenario: Any, plan: Design, store: ResultStore, engine: Executor, *,
                 max_retries: int, chunk_size: int | None, finished: set[str]) -> None:
        self.scenario, self.plan, self.engine = scenario, plan, engine
        self.max_retries = max_retries
        self.chunk_size = chunk_size
        self.writer: BatchWriter = store.writer(plan.parameters, declared_kpis(scenario))
        self.already = sum(1 for spec in plan.runs(seeds=False) if spec.run_id in finished)
        self.remaining = plan.total_runs - self.already
        self._finished = finished
        self._retry: deque[Point] = deque()
        self._lost: dict[str, int] = {}
        self._in_flight = 0
        self.bar: Any = None
        self._started = time.perf_counter()
        self._chunk_ids = 0
        self._run_s = 0.0  # moving estimate of one run's wall time
        self.computed = 0
        self.wall_s = 0.0

    def points(self) -> Iterator[Point]:
        """The (sample, replication) points with runs still to compute, in run-id order."""
        by_point = itertools.groupby(self.plan.runs(seeds=False),
                                     key=lambda s: (s.scenario_index, s.replication))
        for (i, r), specs in by_point:
            runs = tuple((s.strategy, s.run_id) for s in specs if s.run_id not in self._finished)
            if runs:
                yield Point(i, r, run_seed(self.plan.seed, i, r),
                            tuple(float(v) for v in self.plan.values[i]), runs)

    def start(self) -> None:
        """Send the scenario and start the executor's workers (nothing to do when all is done)."""
        self._started = time.perf_counter()
        if self.remaining == 0:
            return
        blob = pack_scenario(self.scenario)
        try:
            self.engine.start(hashlib.sha256(blob).hexdigest(), blob, self.scenario)
        except BaseException:
            self.engine.close()
            raise

    def run(self, bar: SweepProgress) -> None:
        self.bar = bar
        started = self._started
        source = self.points()
        exhausted = self.remaining == 0
        if exhausted:
            return
        try:
            while not exhausted or self._in_flight or self._retry:
                exhausted = self._fill(source, exhausted)
                for outcome in self.engine.collect(timeout=0.2):
                    self._in_flight -= 1
                    self._receive(outcome)
                bar.refresh()
        except OutputError as err:  # a part could not be written: stop, keep what is saved
            self._stop(started, quiet=True)
            raise self._not_saved(err) from err
        except BaseException:
            self._stop(started, quiet=True)
            raise
        self._stop(started, quiet=False)

    def _stop(self, started: float, *, quiet: bool) -> None:
        """Save the last rows and stop the workers (``quiet``: a save error is already reported)."""
        try:
            self.writer.flush()
        except OutputError as err:
            if not quiet:
                raise self._not_saved(err) from err
        finally:
            self.engine.close()
            self.wall_s = time.perf_counter() - started

    def _not_saved(self, err: OutputError) -> OutputError:
        """The write error, with what is safe and what will be computed again on resume."""
        saved = self.already + self.writer.written
        lost = self.writer.unsaved
        return OutputError(f"{err}; {saved:,} finished run(s) are saved in {self.writer.store.root}, "
                           f"{lost:,} computed run(s) could not be saved and will be computed again "
                           "when the sweep is run again into it")

    def _fill(self, source: Iterator[Point], exhausted: bool) -> bool:
        slots = self.engine.slots()
        while self._in_flight < 2 * slots and (self._retry or not exhausted):
            if self._retry:
                chunk_points = [self._retry.popleft()]
            else:
                chunk_points = []
                want = self._points_per_chunk(slots)
                for point in source:
                    chunk_points.append(point)
                    if len(chunk_points) >= want:
                        break
                else:
                    exhausted = True
                if not chunk_points:
                    break
            self._chunk_ids += 1
            self.engine.submit(Chunk(self._chunk_ids, tuple(chunk_points), self.plan.parameters,
                                     self.max_retries))
            self._in_flight += 1
        return exhausted

    def _points_per_chunk(self, slots: int) -> int:
        per_point = max(1, len(self.plan.strategies))
        if self.chunk_size:
            return max(1, self.chunk_size // per_point)
        if self._run_s <= 0:
            return 1
        target_s = 0.25 if self.engine.name in ("local", "inprocess") else 0.5
        by_time = int(target_s / (self._run_s * per_point))
        by_balance = int(self.remaining / per_point / (4 * slots))
        return max(1, min(by_time, by_balance, 5000 // per_point))

    def _receive(self, outcome: Outcome) -> None:
        if outcome.lost is not None:
            self._requeue(outcome)
            return
        rows = [self._flatten(row) for row in outcome.rows]
        if rows:
            mean = sum(r["wall_s"] for r in rows) / len(rows)
            self._run_s = mean if self._run_s <= 0 else 0.7 * self._run_s + 0.3 * mean
        self._record(rows)

    def _record(self, rows: list[dict[str, Any]]) -> None:
        self.writer.add(rows)
        failed = sum(row["status"] == "failed" for row in rows)
        self.remaining -= len(rows)
        self.computed += len(rows)
        self.bar.advance(len(rows), failed)

    def _flatten(self, row: dict[str, Any]) -> dict[str, Any]:
        flat = {k: v for k, v in row.items() if k != "kpis"}
        flat.update(zip((f"param.{p}" for p in self.plan.parameters),
                        (float(v) for v in self.plan.values[row["scenario_index"]])))
        flat.update(row["kpis"])
        return flat

    def _requeue(self, outcome: Outcome) -> None:
        """Runs of a chunk whose worker died: retry each alone, or record it failed."""
        dead: list[dict[str, Any]] = []
        for point in outcome.chunk.points:
            for strategy, run_id in point.runs:
                self._lost[run_id] = self._lost.get(run_id, 0) + 1
                if self._lost[run_id] > self.max_retries:
                    dead.append(self._flatten({
                        "run_id": run_id, "scenario_index": point.scenario_index,
                        "replication": point.replication, "strategy": strategy, "seed": point.seed,
                        "status": "failed", "attempts": self._lost[run_id], "wall_s": float("nan"),
                        "error": f"worker lost while running it: {outcome.lost}", "kpis": {}}))
                else:
                    self._retry.append(Point(point.scenario_index, point.replication, point.seed,
                                             point.values, ((strategy, run_id),)))
        if dead:
            self._record(dead)

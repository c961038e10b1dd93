"""``sweep``: every scenario sample x every strategy x R replications, in parallel, resumable.

Each finished run is written at once into a Parquet dataset under the results folder (see
:mod:`.store`), so an interrupted sweep resumes where it stopped. The row a run becomes, and the
KPI definitions written into the manifest, come from :mod:`twinworld.results`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel

from twinworld.errors import OutputError, SweepError
from twinworld.experiments.design import Design, make_design, run_seed
from twinworld.experiments.executors import (
    Chunk,
    Executor,
    ExecutorOptions,
    Outcome,
    Point,
    SlurmOptions,
    make_executor,
    pack_scenario,
)
from twinworld.experiments.progress import SweepProgress
from twinworld.experiments.store import MANIFEST_VERSION, BatchWriter, ResultStore
from twinworld.params import Dist
from twinworld.results import KpiDefinition, definitions_to_manifest, failed_row, kpi_definitions

__all__ = ["sweep", "SweepOptions", "SweepRun", "ExecutorOptions", "SlurmOptions"]


@dataclass(frozen=True)
class SweepOptions:
    """What to sweep; every field left ``None`` comes from the scenario's ``sweep:`` section.

    Parameters
    ----------
    scenarios, replications, design, levels, design_csv
        The design: how many scenario samples, replications of each, which design (``mc``, ``lhs``,
        ``factorial``, ``csv``), the factorial levels, the CSV of a user design.
    strategies
        Only these strategies (default: all).
    max_retries
        How often a run lost with its worker (a crashed process, a lost node) is tried again
        before it is recorded as failed. Runs that raise are not retried: they are deterministic.
    chunk_size
        Runs per task (default: chosen from the measured run time).
    retry_failed
        Also recompute runs recorded as failed in the results folder.
    progress
        Show a progress bar (done, failed, rate, ETA) on stderr.
    """

    scenarios: int | None = None
    replications: int | None = None
    design: str | None = None
    levels: Mapping[str, Sequence[float]] | None = None
    design_csv: str | Path | None = None
    strategies: Sequence[str] | None = None
    max_retries: int | None = None
    chunk_size: int | None = None
    retry_failed: bool = False
    progress: bool = True


@dataclass(frozen=True)
class SweepRun:
    """What a ``sweep`` call did, and where its results are.

    Attributes
    ----------
    folder
        The results folder.
    runs, computed, failed
        Runs in the folder now, of which computed by this call, and recorded as failed.
    wall_s
        Wall time of this call's runs.
    complete
        Every run of the design is in the folder.
    notes
        What the user should know: damaged files set aside (and recomputed), a compaction that
        could not be written.
    """

    folder: Path
    runs: int
    computed: int
    failed: int
    wall_s: float
    complete: bool
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """Every run as one row (``run_id`` order): base columns, ``param.*``, ``kpi.*``.

        For a sweep too large for memory, query ``folder/results/*.parquet`` with DuckDB instead.
        """
        return ResultStore(self.folder, write=False).load()

    def results(self) -> Any:
        """The runs with their KPI definitions, ready for :func:`twinworld.rank`."""
        from twinworld.analysis.results import load_results

        return load_results(self.folder)


def sweep(scenario_or_path: Any, out: str | Path, options: SweepOptions | None = None, *,
          executor: ExecutorOptions | None = None, registry: Any = None) -> SweepRun:
    """Run a sweep into the folder ``out``: every scenario sample x strategy x replication.

    Parameters
    ----------
    scenario_or_path
        A :class:`~twinworld.scenario.Scenario` or a path to its YAML file.
    out
        The results folder (created). If it already holds part of this sweep, only the missing
        runs are computed.
    options
        The design and behaviour (:class:`SweepOptions`); default: the scenario's ``sweep:``.
    executor
        Where runs execute (:class:`ExecutorOptions`); default: local processes, one per core.
    registry
        System plugins to load a scenario path with (default: every installed plugin).

    Returns
    -------
    SweepRun
        Counts and the folder; ``.table()`` loads the rows, ``.results()`` the ranked form.

    Raises
    ------
    SweepError
        ``out`` holds a different sweep, or the design or executor is invalid.

    Examples
    --------
    >>> import twinworld
    >>> done = twinworld.sweep("scenarios/hospital_surge.yaml", "out/surge",
    ...                        twinworld.SweepOptions(scenarios=50))              # doctest: +SKIP
    >>> done.table().groupby("strategy")["kpi.patients_turned_away"].mean()    # doctest: +SKIP
    """
    options = options or SweepOptions()
    executor = executor or ExecutorOptions()
    scenario = _load(scenario_or_path, registry)
    settings = scenario.sweep
    plan = make_design(scenario, kind=options.design, scenarios=options.scenarios,
                       replications=options.replications, levels=options.levels,
                       design_csv=options.design_csv, strategies=options.strategies)
    with ResultStore(out) as store:  # one writer at a time: a second sweep here is refused
        definitions = kpi_definitions(scenario)
        manifest, was_complete = _start_manifest(store, scenario, plan, definitions)
        if executor.kind == "slurm":
            slurm = executor.slurm or SlurmOptions()
            executor = dataclasses.replace(executor, slurm=dataclasses.replace(
                slurm, log_directory=slurm.log_directory or str(store.root.resolve() / "slurm-logs")))
        with make_executor(executor) as engine:
            driver = _Driver(scenario, plan, store, engine, definitions,
                             max_retries=(settings.max_retries if options.max_retries is None
                                          else int(options.max_retries)),
                             chunk_size=options.chunk_size or settings.chunk_size,
                             finished=store.finished(include_failed=not options.retry_failed))
            driver.start()  # workers start before the progress bar's thread does
            with SweepProgress(total=plan.total_runs, already=driver.already, enabled=options.progress,
                               label=f"{_short(scenario.name)} ({engine.name})") as bar:
                driver.run(bar)
        return _finish(store, manifest, driver, was_complete)


def _finish(store: ResultStore, manifest: dict[str, Any], driver: "_Driver", was_complete: bool) -> SweepRun:
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
                    executor=driver.engine.name)
    store.write_manifest(manifest)
    rows, failed = store.counts()
    return SweepRun(folder=store.root, runs=rows, computed=driver.computed, failed=failed,
                    wall_s=driver.wall_s, complete=complete, notes=tuple(notes))


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


def _start_manifest(store: ResultStore, scenario: Any, plan: Design,
                    definitions: Sequence[KpiDefinition]) -> tuple[dict[str, Any], bool]:
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
        "parameters": list(plan.parameters), "kpis": definitions_to_manifest(definitions),
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


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -------------------------------------------------------------------------------- driver --
class _Driver:
    """Feeds chunks to an executor, writes rows as they come back, retries lost runs."""

    def __init__(self, scenario: Any, plan: Design, store: ResultStore, engine: Executor,
                 definitions: Sequence[KpiDefinition], *, max_retries: int, chunk_size: int | None,
                 finished: set[str]) -> None:
        self.scenario, self.plan, self.engine = scenario, plan, engine
        self.max_retries = max_retries
        self.chunk_size = chunk_size
        self.writer: BatchWriter = store.writer(plan.parameters, [d.name for d in definitions])
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
        self.engine.start(hashlib.sha256(blob).hexdigest(), blob, self.scenario)

    def run(self, bar: SweepProgress) -> None:
        """Submit every remaining point and record what comes back (the executor stays open)."""
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
        """Save the last rows (``quiet``: a save error is already being reported); the executor's
        own context manager stops the workers."""
        try:
            self.writer.flush()
        except OutputError as err:
            if not quiet:
                raise self._not_saved(err) from err
        finally:
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
            self.engine.submit(Chunk(self._chunk_ids, tuple(chunk_points), self.plan.parameters))
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
        rows = outcome.rows
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

    def _requeue(self, outcome: Outcome) -> None:
        """Runs of a chunk whose worker died: retry each alone, or record it failed."""
        dead: list[dict[str, Any]] = []
        for point in outcome.chunk.points:
            for strategy, run_id in point.runs:
                self._lost[run_id] = self._lost.get(run_id, 0) + 1
                if self._lost[run_id] > self.max_retries:
                    dead.append(failed_row(
                        run_id=run_id, scenario_index=point.scenario_index, replication=point.replication,
                        strategy=strategy, seed=point.seed, attempts=self._lost[run_id],
                        values=dict(zip(self.plan.parameters, point.values)),
                        error=f"worker lost while running it: {outcome.lost}"))
                else:
                    self._retry.append(Point(point.scenario_index, point.replication, point.seed,
                                             point.values, ((strategy, run_id),)))
        if dead:
            self._record(dead)

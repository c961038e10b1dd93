"""Where a sweep's runs execute: in-process, local processes, or Dask (local, remote, Slurm).

Every executor takes *chunks* (a few scenario samples, each run under some strategies) and hands
back finished rows as chunks complete. The scenario travels to a worker as pickled bytes with its
content hash; each worker process unpickles it once and keeps it in the per-process static cache
(:func:`twinworld.core.cache.static`), next to the heavy static inputs (graphs, matrices) the
systems build once per process.

A run that raises is caught in the worker and becomes a row with ``status="failed"`` at once (a
run is a pure function: raising again with the same seed would tell nothing new). A worker
*process* that dies takes its chunks with it: the local
executor builds a new process pool and reports those chunks as lost, Dask reschedules them on
another worker itself (and reports them lost after its own retries); the sweep driver then retries
lost runs one by one, so a run that kills its worker every time is recorded as failed and the rest
of the sweep completes.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from twinworld.core.cache import static
from twinworld.errors import SweepError
from twinworld.results import failed_row, run_row

__all__ = ["Chunk", "Point", "Outcome", "Executor", "ExecutorOptions", "InProcessExecutor", "LocalExecutor",
           "DaskExecutor", "SlurmOptions", "make_executor", "run_chunk", "pack_scenario",
           "unpack_scenario", "EXECUTORS"]

EXECUTORS = ("inprocess", "local", "dask", "slurm")


@dataclass(frozen=True)
class Point:
    """One scenario sample and replication, with the strategies (and their run ids) to run on it."""

    scenario_index: int
    replication: int
    seed: int
    values: tuple[float, ...]
    runs: tuple[tuple[str, str], ...]  # (strategy, run_id)
    state: Any = None  # system name -> observed state to start from (a live twin's forecasts)


@dataclass(frozen=True)
class Chunk:
    """The unit of work sent to a worker."""

    chunk_id: int
    points: tuple[Point, ...]
    parameters: tuple[str, ...]

    @property
    def size(self) -> int:
        return sum(len(p.runs) for p in self.points)


@dataclass
class Outcome:
    """A finished chunk: its rows, or ``lost`` with the reason when its worker went away."""

    chunk: Chunk
    rows: list[dict[str, Any]] = field(default_factory=list)
    lost: str | None = None


class Executor(Protocol):
    """What the sweep driver needs from an executor (each is also a context manager that closes it)."""

    name: str

    def start(self, scenario_key: str, scenario_blob: bytes, scenario: Any) -> None: ...

    def slots(self) -> int: ...

    def submit(self, chunk: Chunk) -> None: ...

    def collect(self, timeout: float) -> list[Outcome]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: object) -> None: ...


class _Closing:
    """``with executor:`` closes it (workers, cluster, client) however the block ends."""

    def close(self) -> None:  # pragma: no cover - every executor defines it
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ the worker side --
def _error_text(err: BaseException) -> str:
    """``ValueError: message (at file.py:12 in fn)`` from the innermost frame."""
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    frames = traceback.extract_tb(err.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text


def _resolve(scenario: Any, values: dict[str, float]) -> tuple[Any, Exception | None]:
    """The scenario with a point's values filled in, or the error resolving them raised."""
    from twinworld.scenario.uncertain import resolve

    if not values:
        return scenario, None
    try:
        resolved = resolve(scenario, values)
    except Exception as err:  # bad values fail each run of the point, as data
        return None, err
    resolved._registry = scenario._registry
    return resolved, None


def _attempt(resolved: Any, problem: Exception | None, strategy: str, point: Point, run_id: str,
             values: dict[str, float]) -> dict[str, Any]:
    """One run, as its stored row. A run that raises is deterministic (same seed, same error): it
    becomes a failed row at once; only runs lost with their worker are retried (by the driver)."""
    from twinworld.experiments.run import run

    base: dict[str, Any] = {"run_id": run_id, "scenario_index": point.scenario_index,
                            "replication": point.replication}
    started = time.perf_counter()
    try:
        if problem is not None:
            raise problem
        result = run(resolved, strategy, seed=point.seed, values={}, run_seed=np.random.SeedSequence(point.seed),
                     registry=resolved.registry, state=point.state)
    except Exception as err:  # a failed run is data, never the end of the sweep
        return failed_row(strategy=strategy, seed=point.seed, values=values, error=_error_text(err),
                          attempts=1, wall_s=time.perf_counter() - started, **base)
    return run_row(strategy=strategy, seed=point.seed, values=values, kpis=result.kpis,
                   wall_s=time.perf_counter() - started, cascades=result.cascades, **base)


def run_points(scenario: Any, chunk: Chunk) -> list[dict[str, Any]]:
    """Run every (point, strategy) of ``chunk``; each run becomes its stored row.

    A point's values are resolved into the scenario once and shared by its strategies: the same
    computation as ``run(scenario, strategy, seed=seed, values=values)`` for each of them.
    """
    rows = []
    for point in chunk.points:
        values = dict(zip(chunk.parameters, point.values))
        resolved, problem = _resolve(scenario, values)
        for strategy, run_id in point.runs:
            rows.append(_attempt(resolved, problem, strategy, point, run_id, values))
    return rows


def _plugin_reference(plugin: Any) -> str | None:
    """``"module:attribute"`` of a module-level name bound to ``plugin``, if there is one."""
    top = plugin.build.__module__.split(".")[0]
    for name, module in list(sys.modules.items()):
        if module is None or not (name == top or name.startswith(top + ".")):
            continue
        for attribute, value in list(vars(module).items()):
            if value is plugin:
                return f"{name}:{attribute}"
    return None


def pack_scenario(scenario: Any) -> bytes:
    """The scenario as bytes for worker processes, with only the plugins it uses.

    Plugins travel as ``module:attribute`` references where possible (a plugin object may hold
    lambdas that pickle cannot carry); the worker imports them.
    """
    kinds = sorted(set(scenario.system_kinds().values()))
    plugins = [scenario.registry.get(kind) for kind in kinds]
    bare = scenario.model_copy()
    bare._registry = None
    try:
        return pickle.dumps((bare, [_plugin_reference(p) or p for p in plugins]))
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise SweepError(f"the scenario cannot be sent to worker processes ({err}); define its "
                         "plugins at module level, or use executor='inprocess'") from err


def unpack_scenario(blob: bytes) -> Any:
    """Inverse of :func:`pack_scenario` (bytes made by this sweep's own driver)."""
    import importlib

    from twinworld.scenario.registry import Registry

    bare, plugins = pickle.loads(blob)
    loaded = []
    for plugin in plugins:
        if isinstance(plugin, str):
            module, _, attribute = plugin.partition(":")
            plugin = getattr(importlib.import_module(module), attribute)
        loaded.append(plugin)
    bare._registry = Registry(loaded)
    return bare


def _scenario(key: str, blob: bytes | None) -> Any:
    def build() -> Any:
        if blob is None:
            raise SweepError("worker has no copy of the scenario (initializer did not run)")
        return unpack_scenario(blob)
    return static(f"twinworld.sweep.scenario:{key}", build)


def run_chunk(key: str, blob: bytes | None, chunk: Chunk) -> list[dict[str, Any]]:
    """Worker entry point: the scenario is unpickled once per process and cached by its hash."""
    return run_points(_scenario(key, blob), chunk)


def _watch_parent(parent: int) -> None:
    """Exit this worker when its parent goes away (a driver killed with SIGKILL leaves no orphans)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(key: str, blob: bytes) -> None:
    _scenario(key, blob)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


# ------------------------------------------------------------------------------- in-process --
class InProcessExecutor(_Closing):
    """Runs each chunk at once in the calling process (for debugging: breakpoints work)."""

    name = "inprocess"

    def __init__(self) -> None:
        self._scenario: Any = None
        self._done: list[Outcome] = []

    def start(self, scenario_key: str, scenario_blob: bytes, scenario: Any) -> None:
        self._scenario = scenario

    def slots(self) -> int:
        return 1

    def submit(self, chunk: Chunk) -> None:
        self._done.append(Outcome(chunk, run_points(self._scenario, chunk)))

    def collect(self, timeout: float) -> list[Outcome]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        self._scenario = None


# -------------------------------------------------------------------------- local processes --
def _context() -> multiprocessing.context.BaseContext:
    """How worker processes start.

    ``fork`` while the driver has a single thread (workers inherit the imported modules: no
    start-up cost); otherwise ``forkserver`` (forking a process with other threads may deadlock),
    preloaded with the run machinery; ``spawn`` where neither exists.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["twinworld.experiments.executors", "twinworld.experiments.run"])
        return context
    return multiprocessing.get_context("spawn")


def _ready() -> int:
    return os.getpid()


class LocalExecutor(_Closing):
    """A pool of worker processes on this machine (default: one per core).

    A pool whose worker dies is broken as a whole (every pending future fails), so this executor
    reports the chunks in flight as lost and starts a fresh pool for what follows.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, Chunk] = {}
        self._init: tuple[str, bytes] | None = None
        self.pools_started = 0

    def start(self, scenario_key: str, scenario_blob: bytes, scenario: Any) -> None:
        """Start the workers now (before the driver starts threads, so they can be forked)."""
        self._init = (scenario_key, scenario_blob)
        try:
            self._ensure_pool().submit(_ready).result()
        except cf.process.BrokenProcessPool as err:
            self._discard_pool()
            raise SweepError("worker processes could not start: they must import the scenario's "
                             "system plugins by module name (a plugin defined in a notebook or "
                             "script cannot be); put it in a module, or use executor='inprocess'"
                             ) from err

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            init: tuple[Any, ...] = self._init or ()
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=_context(),
                                                initializer=_init_worker, initargs=init)
            self.pools_started += 1
        return self._pool

    def slots(self) -> int:
        return self.workers

    def submit(self, chunk: Chunk) -> None:
        assert self._init is not None, "start() first"
        try:
            future = self._ensure_pool().submit(run_chunk, self._init[0], None, chunk)
        except cf.process.BrokenProcessPool:
            self._discard_pool()
            future = self._ensure_pool().submit(run_chunk, self._init[0], None, chunk)
        self._futures[future] = chunk

    def collect(self, timeout: float) -> list[Outcome]:
        if not self._futures:
            return []
        done, _ = cf.wait(self._futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        outcomes: list[Outcome] = []
        broken = False
        for future in done:
            chunk = self._futures.pop(future)
            try:
                outcomes.append(Outcome(chunk, future.result()))
            except cf.process.BrokenProcessPool as err:
                broken = True
                outcomes.append(Outcome(chunk, lost=f"worker process died ({err})"))
            except Exception as err:  # pickling trouble and the like: the chunk never ran
                outcomes.append(Outcome(chunk, lost=_error_text(err)))
        if broken:
            for chunk in list(self._futures.values()):
                outcomes.append(Outcome(chunk, lost="worker process died (pool broken)"))
            self._futures.clear()
            self._discard_pool()
        return outcomes

    def _discard_pool(self) -> None:
        """Drop a (broken) pool, killing its surviving workers.

        On Python 3.11 a broken ProcessPoolExecutor's manager thread joins the surviving workers,
        and a worker blocked on the call queue never returns: the interpreter then hangs at exit.
        Killing them first lets the manager thread (and the driver) finish.
        """
        if self._pool is not None:
            survivors = list((getattr(self._pool, "_processes", None) or {}).values())
            for process in survivors:
                if process.is_alive():
                    process.kill()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in survivors:
                process.join(timeout=5)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ---------------------------------------------------------------------------------- Dask --
@dataclass(frozen=True)
class SlurmOptions:
    """A Slurm allocation for Dask workers (through dask-jobqueue).

    Parameters
    ----------
    queue
        Partition (``-p``); default: the cluster's default partition.
    cores
        Cores per job; each job runs ``processes`` worker processes (default: one per core).
    memory
        Memory per job, e.g. ``"4GB"``.
    walltime
        Job time limit, ``HH:MM:SS``.
    jobs
        How many jobs to start.
    interface
        Network interface workers listen on (``lo`` on a single machine, ``ib0`` on InfiniBand).
    log_directory
        Where the jobs' output files go (a shared folder; the sweep uses ``OUT/slurm-logs``).
    """

    queue: str | None = None
    cores: int = 2
    memory: str = "4GB"
    walltime: str = "01:00:00"
    jobs: int = 1
    processes: int | None = None
    interface: str | None = None
    log_directory: str | None = None


def _worker_pythonpath() -> str:
    """The folder twinworld is imported from plus PYTHONPATH, so batch jobs import the same code."""
    import twinworld

    here = str(Path(twinworld.__file__).resolve().parents[1])
    parts = [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != here]
    return os.pathsep.join(parts)


class DaskExecutor(_Closing):
    """Dask distributed: a new LocalCluster, an existing scheduler, or Slurm via dask-jobqueue.

    Parameters
    ----------
    workers
        LocalCluster worker processes (default: one per core); for Slurm, total worker processes
        (jobs are added to reach it).
    scheduler
        Address of a running scheduler (``tcp://HOST:PORT``); its workers must be able to import
        twinworld and the scenario's plugins.
    slurm
        Start workers as Slurm jobs instead.
    """

    def __init__(self, workers: int | None = None, *, scheduler: str | None = None,
                 slurm: SlurmOptions | None = None) -> None:
        self.workers = workers
        self.scheduler = scheduler
        self.slurm = slurm
        self.name = "slurm" if slurm else "dask"
        self.client: Any = None
        self._cluster: Any = None
        self._futures: dict[Any, Chunk] = {}
        self._key = ""
        self._blob = b""

    def start(self, scenario_key: str, scenario_blob: bytes, scenario: Any) -> None:
        from distributed import Client

        self._key, self._blob = scenario_key, scenario_blob
        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s")
        elif self.slurm:
            self._cluster = _slurm_cluster(self.slurm, self.workers)
            self.client = Client(self._cluster)
        else:
            from distributed import LocalCluster

            self._cluster = LocalCluster(n_workers=int(self.workers or os.cpu_count() or 1),
                                         threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)

    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values())) if self.client else 1

    def submit(self, chunk: Chunk) -> None:
        # The scenario bytes go with each chunk (a few kB) rather than being scattered once: a
        # scattered copy dies with its worker, a task's own argument is re-sent when it is retried.
        future = self.client.submit(run_chunk, self._key, self._blob, chunk, pure=False,
                                    key=f"twinworld-chunk-{self._key[:12]}-{chunk.chunk_id}-{time.monotonic_ns()}")
        self._futures[future] = chunk

    def collect(self, timeout: float) -> list[Outcome]:
        from distributed import wait

        if not self._futures:
            return []
        try:
            done, _ = wait(list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except (TimeoutError, cf.TimeoutError):
            return []
        outcomes = []
        for future in done:
            chunk = self._futures.pop(future)
            try:
                outcomes.append(Outcome(chunk, future.result()))
            except Exception as err:  # KilledWorker: Dask gave up after its own retries
                outcomes.append(Outcome(chunk, lost=_error_text(err)))
            future.release()
        return outcomes

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _slurm_cluster(options: SlurmOptions, workers: int | None) -> Any:
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as err:
        raise SweepError("--executor slurm needs dask-jobqueue: pip install 'twinworld[slurm]'") from err
    processes = options.processes or options.cores
    cluster = SLURMCluster(cores=options.cores, processes=processes, memory=options.memory,
                           walltime=options.walltime, queue=options.queue,
                           interface=options.interface, log_directory=options.log_directory,
                           job_script_prologue=[f"export PYTHONPATH={_worker_pythonpath()}"],
                           python=sys.executable)
    jobs = options.jobs if workers is None else max(1, -(-int(workers) // processes))
    cluster.scale(jobs=jobs)
    return cluster


@dataclass(frozen=True)
class ExecutorOptions:
    """Where a sweep's runs execute.

    Parameters
    ----------
    kind
        ``local`` (processes on this machine, the default), ``inprocess`` (debugging), ``dask`` (a
        new LocalCluster, or the scheduler at ``scheduler``) or ``slurm`` (Dask workers as Slurm
        jobs, see ``slurm``).
    workers
        Worker processes (default: one per core).
    scheduler
        Address of a running Dask scheduler (``tcp://HOST:PORT``).
    slurm
        The Slurm allocation for ``kind="slurm"``.
    """

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    slurm: SlurmOptions | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise SweepError(f"unknown executor {self.kind!r}; valid: {', '.join(EXECUTORS)}")
        if self.workers is not None and (isinstance(self.workers, bool) or int(self.workers) < 1):
            raise SweepError(f"workers must be a whole number >= 1; got {self.workers!r}")


def make_executor(options: ExecutorOptions) -> Executor:
    """The executor ``options`` describe (a context manager: ``with make_executor(o) as e:``)."""
    kind = "dask" if options.scheduler and options.kind == "local" else options.kind
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "local":
        return LocalExecutor(options.workers)
    if kind == "dask":
        return DaskExecutor(options.workers, scheduler=options.scheduler)
    return DaskExecutor(options.workers, slurm=options.slurm or SlurmOptions())

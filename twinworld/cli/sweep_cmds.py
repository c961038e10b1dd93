"""``twinworld sweep``: every sampled scenario under every strategy, in parallel, resumable."""

from __future__ import annotations

from pathlib import Path

import typer

from twinworld.cli.app import console
from twinworld.cli.options import allow_large_option, data_root_option, load
from twinworld.errors import SweepError
from twinworld.experiments.executors import EXECUTORS, ExecutorOptions, SlurmOptions
from twinworld.experiments.sweep import SweepOptions
from twinworld.experiments.sweep import sweep as run_sweep

__all__ = ["register"]


def sweep(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    out: Path = typer.Option(..., "--out", "-o", help="Results folder; rerun into it to resume."),
    scenarios: int | None = typer.Option(None, "--scenarios", "-n", min=1,
                                            help="Scenario samples (default: the file's sweep.scenarios)."),
    replications: int | None = typer.Option(None, "--replications", "-r", min=1,
                                               help="Replications per sample and strategy."),
    design: str | None = typer.Option(None, "--design", help="mc | lhs | factorial | csv | sobol."),
    design_csv: Path | None = typer.Option(None, "--design-csv", help="CSV of samples (csv design)."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1,
                                          help="Worker processes (default: every core)."),
    executor: str = typer.Option("local", "--executor", "-x", help=" | ".join(EXECUTORS)),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                            help="A running Dask scheduler, tcp://HOST:PORT."),
    strategy: list[str] = typer.Option([], "--strategy", "-s", help="Only this strategy (repeatable)."),
    max_retries: int | None = typer.Option(None, "--max-retries", min=0,
                                              help="Retries of a run lost with its worker (default 2); "
                                                   "runs that raise are recorded as failed at once."),
    chunk_size: int | None = typer.Option(None, "--chunk-size", min=1,
                                             help="Runs per task (default: from run time)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Recompute runs recorded as failed."),
    queue: str | None = typer.Option(None, "--queue", help="Slurm partition."),
    cores: int = typer.Option(2, "--cores", min=1, help="Slurm: cores per job."),
    memory: str = typer.Option("4GB", "--memory", help="Slurm: memory per job."),
    walltime: str = typer.Option("01:00:00", "--walltime", help="Slurm: job time limit."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Slurm: jobs to start (unless --workers)."),
    interface: str | None = typer.Option(None, "--interface",
                                            help="Slurm: network interface for workers (lo on one machine)."),
    overrides: list[str] = typer.Option([], "--set", help="Edit a field first, e.g. --set seed=3."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    data_root: list[Path] = data_root_option(),
    allow_large: bool = allow_large_option(),
) -> None:
    """Sweep a scenario: samples x strategies x replications into a Parquet dataset (resumable).

    One sweep at a time writes to a folder (a second one exits 2); a damaged results file is set
    aside in OUT/quarantine and its runs are computed again.
    """
    if executor not in EXECUTORS:
        raise SweepError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    loaded = load(scenario, overrides=overrides, data_root=data_root, allow_large=allow_large)
    slurm = SlurmOptions(queue=queue, cores=cores, memory=memory, walltime=walltime, jobs=jobs,
                         interface=interface) if executor == "slurm" else None
    done = run_sweep(loaded, out,
                     SweepOptions(scenarios=scenarios, replications=replications, design=design,
                                  design_csv=design_csv, strategies=strategy or None, max_retries=max_retries,
                                  chunk_size=chunk_size, retry_failed=retry_failed, progress=progress),
                     executor=ExecutorOptions(executor, workers=workers, scheduler=scheduler, slurm=slurm))
    console.print(f"{done.runs:,} run(s) in {out} ({done.computed:,} computed now, {done.wall_s:.1f} s); "
                  + (f"[red]{done.failed:,} failed[/] (see the error column)" if done.failed else "none failed"))
    for note in done.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    results = out / "results"
    console.print(f"[dim]read it: pandas.read_parquet('{results}')  or  duckdb.sql(\"SELECT strategy, "
                  f"count(*) FROM '{results}/*.parquet' GROUP BY strategy\")[/]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)

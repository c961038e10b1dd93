"""``twinworld optimize``: search a scenario's levers, show the Pareto set, keep a chosen candidate."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from twinworld.cli.app import console
from twinworld.errors import SweepError
from twinworld.experiments.executors import EXECUTORS, SlurmOptions

__all__ = ["register"]


def _num(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (bool,)):
        return str(value)
    return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def pareto_table(result: Any, chosen: str | None = None, *, limit: int = 30) -> Table:
    """The Pareto set as a rich table: levers, then objectives; the named strategies below."""
    table = Table(title=f"Pareto set: {len(result.pareto)} of {len(result.candidates)} candidates "
                        f"(objectives on {result.runs // max(1, len(result.candidates))} runs each)",
                  title_justify="left")
    for head in ["candidate", *result.levers, *result.labels]:
        table.add_column(head, justify="left" if head == "candidate" else "right")
    for key, row in result.pareto.head(limit).iterrows():
        style = "bold green" if key == chosen else None
        table.add_row(str(key), *(_num(row[c]) for c in [*result.levers, *result.labels]), style=style)
    if len(result.pareto) > limit:
        table.add_row(f"... {len(result.pareto) - limit} more (pareto.csv)", *[""] * (len(table.columns) - 1))
    for name, row in result.reference.iterrows():
        table.add_row(f"[dim]named: {name}[/]", *([""] * len(result.levers)),
                      *(f"[dim]{_num(row[c])}[/]" for c in result.labels))
    return table


def optimize(
    scenario: Path = typer.Argument(..., help="Scenario YAML file with a levers: section."),
    out: Path = typer.Option(..., "--out", "-o", help="Optimisation folder; rerun into it to resume."),
    generations: int | None = typer.Option(None, "--generations", "-g", min=1,
                                              help="Generations (default: levers.search.generations)."),
    population: int | None = typer.Option(None, "--population", "-p", min=4, help="Candidates per generation."),
    max_evaluations: int | None = typer.Option(None, "--max-evaluations", min=1,
                                                  help="Most distinct candidates to run."),
    scenarios: int | None = typer.Option(None, "--scenarios", "-n", min=2,
                                            help="Sampled scenarios every candidate faces."),
    objective: list[str] = typer.Option([], "--objective",
                                        help="KPI:RISK, repeatable (default: levers.objectives)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the samples and the search."),
    save_strategy: str | None = typer.Option(None, "--save-strategy",
                                                help="Write the chosen candidate as this named strategy "
                                                     "into a new scenario file, then rank it on fresh "
                                                     "scenarios."),
    candidate: str | None = typer.Option(None, "--candidate",
                                            help="Which candidate to save (default: the front's best "
                                                 "compromise)."),
    scenario_out: Path | None = typer.Option(None, "--scenario-out",
                                                help="Where to write it (default: SCENARIO.<name>.yaml)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --scenario-out if it exists."),
    validation_scenarios: int | None = typer.Option(None, "--validation-scenarios", min=2,
                                                       help="Fresh scenarios for the saved strategy's ranking."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Worker processes."),
    executor: str = typer.Option("local", "--executor", "-x", help=" | ".join(EXECUTORS)),
    scheduler: str | None = typer.Option(None, "--scheduler", help="A running Dask scheduler."),
    queue: str | None = typer.Option(None, "--queue", help="Slurm partition."),
    interface: str | None = typer.Option(None, "--interface", help="Slurm: workers' network interface."),
    overrides: list[str] = typer.Option([], "--set", help="Edit a field first, e.g. --set horizon=7d."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress."),
) -> None:
    """Search the levers for robust strategies: NSGA-II over common random numbers, resumable."""
    from twinworld.optimize import EvaluationOptions, OptimizeOptions
    from twinworld.optimize import optimize as run_search
    from twinworld.scenario.loader import load_scenario
    from twinworld.viz.decision import pareto_figure

    if executor not in EXECUTORS:
        raise SweepError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    loaded = load_scenario(scenario, overrides=overrides)
    slurm = SlurmOptions(queue=queue, interface=interface) if executor == "slurm" else None
    evaluation = EvaluationOptions(executor=executor, workers=workers, scheduler=scheduler, slurm=slurm,
                                   progress=progress)
    options = OptimizeOptions(evaluation=evaluation, generations=generations, population=population,
                              max_evaluations=max_evaluations, scenarios=scenarios, seed=seed,
                              objectives=tuple(objective) or None, progress=progress)
    result = run_search(loaded, out, options=options)
    chosen = result.choose(candidate) if not result.pareto.empty or candidate else None
    console.print(pareto_table(result, chosen))
    figure = pareto_figure(result.candidates, result.reference, result.labels,
                           [o.lower_is_better for o in result.objectives],
                           title=f"{loaded.name}: levers {', '.join(result.levers)}")
    figure.savefig(result.folder / "pareto.png", dpi=110)
    console.print(f"{result.evaluations} candidates ({result.runs:,} runs, {result.computed_runs:,} "
                  f"computed now; stopped by {result.stopped}); wrote {result.folder}/pareto.csv, "
                  f"pareto.parquet, pareto.png, candidates.csv", highlight=False)
    if save_strategy:
        _save(result, save_strategy, chosen, scenario_out, overwrite, validation_scenarios, evaluation,
              overrides)


def _save(result: Any, name: str, candidate: str | None, path: Path | None, overwrite: bool,
          validation_scenarios: int | None, evaluation: Any, overrides: list[str]) -> None:
    from twinworld.cli.rank_cmds import print_ranking
    from twinworld.optimize.save import rank_on_fresh_scenarios, save_strategy

    saved = save_strategy(result, name, candidate=candidate, path=path, overwrite=overwrite)
    console.print(f"wrote strategy [bold]{name}[/] ({saved.candidate}: "
                  + ", ".join(f"{k}={_num(v)}" for k, v in saved.values.items())
                  + f") to {saved.path}", highlight=False)
    search = result.scenario.levers.search
    count = validation_scenarios or search.validation_scenarios
    seed = int(result.scenario.seed if search.seed is None else search.seed)
    console.print(f"ranking it against the named strategies on {count} fresh sampled scenarios…")
    ranking = rank_on_fresh_scenarios(saved.path, name, result.folder / f"validation-{name}",
                                      search_seed=seed, scenarios=count, design=search.design,
                                      replications=search.replications, options=evaluation,
                                      registry=result.scenario.registry, overrides=overrides,
                                      data_roots=saved.data_roots)
    print_ranking(ranking)


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)

"""``twinworld run``, ``validate`` and ``schema``: one scenario, one seed, every strategy."""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from twinworld.cli.app import console
from twinworld.cli.options import (
    allow_large_option,
    data_root_option,
    load,
    make_folder,
    writing,
)
from twinworld.errors import ScenarioError
from twinworld.experiments.run import run as run_one
from twinworld.limits import MAX_RUN_EVENTS, MAX_SEED
from twinworld.results import KpiDefinition, kpi_definitions
from twinworld.scenario.schema import scenario_json_schema
from twinworld.scenario.uncertain import sample_values, uncertainties
from twinworld.scenario.workload import estimate_run
from twinworld.units import format_hours

__all__ = ["register"]

_SET_HELP = "Edit a field before running, e.g. --set sweep.scenarios=50 (repeatable)."


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _kpi_table(results: dict[str, dict[str, float]], kpis: list[str], title: str,
               definitions: dict[str, KpiDefinition]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("KPI")
    table.add_column("better", justify="center")
    for strategy in results:
        table.add_column(strategy, justify="right")
    for kpi in kpis:
        definition = definitions.get(kpi)
        direction = definition.direction.value if definition else "minimize"
        values = [results[s].get(kpi, math.nan) for s in results]
        finite = [v for v in values if not math.isnan(v)]
        best = (min(finite) if direction == "minimize" else max(finite)) if finite else None
        cells = [f"[bold green]{_fmt(v)}[/]" if best is not None and v == best and len(set(finite)) > 1
                 else _fmt(v) for v in values]
        unit = f" ({definition.unit})" if definition and definition.unit else ""
        table.add_row(kpi + unit, "↓" if direction == "minimize" else "↑", *cells)
    return table


def run(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    strategy: str = typer.Option("all", "--strategy", "-s", help="A strategy name, or 'all'."),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED,
                                       help="Run seed (default: the scenario's)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write kpis.csv, kpis.parquet and detail tables here."),
    overrides: list[str] = typer.Option([], "--set", help=_SET_HELP),
    data_root: list[Path] = data_root_option(),
    allow_large: bool = allow_large_option(),
) -> None:
    """Run one sampled scenario under each strategy and print the KPIs side by side.

    Every strategy sees the same sampled disruption and the same patients (common random numbers).
    """
    loaded = load(scenario, overrides=overrides, data_root=data_root, allow_large=allow_large)
    if out is not None:
        make_folder(out)  # before the runs: an unusable --out fails fast
    names = list(loaded.strategies) if strategy == "all" else [strategy]
    unknown = [n for n in names if n not in loaded.strategies]
    if unknown:
        raise ScenarioError.single(f"unknown strategy {unknown[0]!r}", file=scenario, path="strategies",
                                   valid=", ".join(["all", *loaded.strategies]))
    seed = loaded.seed if seed is None else seed
    values = sample_values(loaded, seed) if uncertainties(loaded) else {}
    if values:
        sampled = Table(title=f"Sampled disruption (seed {seed})", title_justify="left")
        sampled.add_column("parameter")
        sampled.add_column("value", justify="right")
        for path, value in values.items():
            shown = format_hours(value) if path.endswith((".start", ".duration")) else f"{value:.3g}"
            sampled.add_row(path, shown)
        console.print(sampled)
    results = {}
    detail = {}
    with console.status("running…"):
        for name in names:
            result = run_one(loaded, name, seed, values=values, tables=out is not None)
            results[name] = result.kpis
            detail[name] = result
    kpis = loaded.kpis or list(next(iter(results.values())))
    definitions = {d.name: d for d in kpi_definitions(loaded)}
    console.print(_kpi_table(results, kpis, f"{loaded.name} — seed {seed}", definitions))
    wall = sum(r.wall_s for r in detail.values())
    console.print(f"[dim]{len(names)} run(s) in {wall:.2f} s[/]")
    if loaded.couplings:
        _print_cascades(detail)
    if out is not None:
        _write_outputs(out, detail, values)


def _print_cascades(detail: dict) -> None:
    """The cause chains of the first strategy's run, as a timeline (the others: only their totals)."""
    from twinworld.viz.cascade import cascade_text

    first, result = next(iter(detail.items()))
    lines = cascade_text(result.cascade, result.cascades)
    console.print(f"\n[bold]Cascades under {first!r}[/] (time, system, what failed and why)"
                  if lines else f"\n[dim]No cascade across systems under {first!r}.[/]", highlight=False)
    for line in lines:
        console.print(line, highlight=False, markup=False)
    for name, other in list(detail.items())[1:]:
        crossing = {k: v for k, v in other.cascades.items() if k.split(".")[1] not in ("none", k.split(".")[2])}
        if crossing:
            said = ", ".join(f"{v:g} {k.split('.', 3)[3].replace('_', ' ')} from {k.split('.')[1]}"
                             for k, v in crossing.items())
            console.print(f"{'':>9} {name}: {said}", highlight=False, markup=False)


def _csv(table: pd.DataFrame, path: Path) -> None:
    table.to_csv(path, index=False)


def _write_outputs(out: Path, detail: dict, values: dict[str, float]) -> None:
    make_folder(out)
    frame = pd.DataFrame([r.row() for r in detail.values()])
    writing(out / "kpis.csv", lambda path: frame.to_csv(path, index=False))
    writing(out / "kpis.parquet", lambda path: frame.to_parquet(path, index=False))
    for name, result in detail.items():
        for table_name, table in result.tables.items():
            writing(out / f"{name}.{table_name}.csv", partial(_csv, table))
        if len(result.cascade):
            writing(out / f"{name}.cascade.csv", partial(_csv, result.cascade))
    console.print(f"wrote {out / 'kpis.csv'}, {out / 'kpis.parquet'} and detail tables")


def validate(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    overrides: list[str] = typer.Option([], "--set", help=_SET_HELP),
    data_root: list[Path] = data_root_option(),
    allow_large: bool = allow_large_option(),
) -> None:
    """Check a scenario file; print a summary, or every problem with file:line:column (exit 2)."""
    loaded = load(scenario, overrides=overrides, data_root=data_root, allow_large=allow_large)
    uncertain = uncertainties(loaded)
    console.print(f"[green]ok[/] {scenario}: {loaded.name!r}")
    console.print(f"  horizon {format_hours(loaded.horizon)}, systems: "
                  + ", ".join(f"{n} ({c.kind})" for n, c in loaded.systems.items()))
    console.print(f"  {len(loaded.disruptions)} disruption(s), {len(uncertain)} uncertain parameter(s): "
                  + (", ".join(uncertain) or "none"))
    console.print(f"  strategies: {', '.join(loaded.strategies)}")
    if loaded.couplings:
        console.print(f"  {len(loaded.couplings)} coupling(s), as linked: "
                      + "; ".join(f"{c.consumer} <- {c.provider} ({c.kind})" for c in loaded.couplings),
                      highlight=False)
    console.print(f"  sweep: {loaded.sweep.scenarios} scenario(s) x {len(loaded.strategies)} strategies "
                  f"x {loaded.sweep.replications} replication(s), design {loaded.sweep.design}")
    size = estimate_run(loaded)
    console.print(f"  largest run: about {size.events:.2g} events (strategy {size.strategy}; "
                  f"limit {MAX_RUN_EVENTS:.0e})")


def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead of stdout."),
    telemetry: bool = typer.Option(False, "--telemetry", help="The live twin's telemetry messages instead: "
                                   "per system kind, its state, element and event messages."),
) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    if telemetry:
        from twinworld.twin.schema import telemetry_schemas

        document = telemetry_schemas()
    else:
        document = scenario_json_schema()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        writing(output, lambda path: path.write_text(text))
        console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("validate")(validate)
    app.command("schema")(schema)

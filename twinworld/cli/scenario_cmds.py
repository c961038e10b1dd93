"""``twinworld run``, ``validate`` and ``schema``: one scenario, one seed, every strategy."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from twinworld.cli.app import console
from twinworld.errors import ScenarioError
from twinworld.experiments.run import run as run_one
from twinworld.scenario.loader import load_scenario
from twinworld.scenario.registry import default_registry
from twinworld.scenario.schema import scenario_json_schema
from twinworld.scenario.uncertain import sample_values, uncertainties
from twinworld.units import format_hours

__all__ = ["register"]

_SET_HELP = "Edit a field before running, e.g. --set sweep.scenarios=50 (repeatable)."


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def _kpi_table(results: dict[str, dict[str, float]], kpis: list[str], title: str) -> Table:
    registry = default_registry()
    table = Table(title=title, title_justify="left")
    table.add_column("KPI")
    table.add_column("better", justify="center")
    for strategy in results:
        table.add_column(strategy, justify="right")
    for kpi in kpis:
        definition = registry.kpi(kpi.split(".")[-1])
        direction = definition.direction if definition else "minimize"
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
    seed: Optional[int] = typer.Option(None, "--seed", help="Run seed (default: the scenario's)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write kpis.csv, kpis.parquet and detail tables here."),
    overrides: list[str] = typer.Option([], "--set", help=_SET_HELP),
) -> None:
    """Run one sampled scenario under each strategy and print the KPIs side by side.

    Every strategy sees the same sampled disruption and the same patients (common random numbers).
    """
    loaded = load_scenario(scenario, overrides=overrides)
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
    console.print(_kpi_table(results, kpis, f"{loaded.name} — seed {seed}"))
    wall = sum(r.wall_s for r in detail.values())
    console.print(f"[dim]{len(names)} run(s) in {wall:.2f} s[/]")
    if out is not None:
        _write_outputs(out, detail, values)


def _write_outputs(out: Path, detail: dict, values: dict[str, float]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([r.row() for r in detail.values()])
    frame.to_csv(out / "kpis.csv", index=False)
    frame.to_parquet(out / "kpis.parquet", index=False)
    for name, result in detail.items():
        for table_name, table in result.tables.items():
            table.to_csv(out / f"{name}.{table_name}.csv", index=False)
    console.print(f"wrote {out / 'kpis.csv'}, {out / 'kpis.parquet'} and detail tables")


def validate(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    overrides: list[str] = typer.Option([], "--set", help=_SET_HELP),
) -> None:
    """Check a scenario file; print a summary, or every problem with file:line:column (exit 2)."""
    loaded = load_scenario(scenario, overrides=overrides)
    uncertain = uncertainties(loaded)
    console.print(f"[green]ok[/] {scenario}: {loaded.name!r}")
    console.print(f"  horizon {format_hours(loaded.horizon)}, systems: "
                  + ", ".join(f"{n} ({c.kind})" for n, c in loaded.systems.items()))
    console.print(f"  {len(loaded.disruptions)} disruption(s), {len(uncertain)} uncertain parameter(s): "
                  + (", ".join(uncertain) or "none"))
    console.print(f"  strategies: {', '.join(loaded.strategies)}")
    console.print(f"  sweep: {loaded.sweep.scenarios} scenario(s) x {len(loaded.strategies)} strategies "
                  f"x {loaded.sweep.replications} replication(s), design {loaded.sweep.design}")


def schema(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to a file instead of stdout."),
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
        output.write_text(text)
        console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("validate")(validate)
    app.command("schema")(schema)

"""``twinworld rank`` and ``twinworld report``: rank a sweep's strategies, write the HTML report."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from twinworld.cli.app import console
from twinworld.cli.options import writing
from twinworld.errors import SweepError

if TYPE_CHECKING:
    from twinworld.analysis.ranking import Ranking

__all__ = ["register", "sweep_extender"]

# Analysis (scipy.stats) is imported inside the commands: other commands start faster.
_RISK_HELP = ("Risk measure to rank by: mean, cvar, max_regret, mean_regret, median, p90 "
              "(default: the scenario's).")

_PARETO_HELP = "Comma-separated KPIs of the Pareto set (default: every KPI)."
_FAILURE_HELP = ("What failing means for scenario discovery: auto (constraints if any, else "
                 "worst_decile), constraints, worst_decile, regret.")


def _kpi_list(text: str | None) -> list[str] | None:
    return [k.strip() for k in text.split(",") if k.strip()] if text else None


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _ci(mid: float, low: float, high: float) -> str:
    return _num(mid) if isinstance(low, float) and math.isnan(low) else \
        f"{_num(mid)} [{_num(low)}, {_num(high)}]"


def _p(value: float) -> str:
    return "-" if value is None or math.isnan(value) else ("<0.001" if value < 0.001 else f"{value:.3f}")


def ranking_table(r: "Ranking") -> Table:
    """The primary-KPI ranking as a rich table."""
    conf = f"{r.confidence:.0%}"
    table = Table(title=f"{r.primary} ({r.direction}) ranked by {r.risk_label}", title_justify="left")
    for head in ("#", "strategy", r.risk_label, f"mean [{conf} CI]", "p90", "max regret", "P(best)",
                 "vs leader [CI]", "Holm p", "vs baseline [CI]", "Holm p", "constraints"):
        table.add_column(head, justify="left" if head == "strategy" else "right")
    for name, row in r.table.iterrows():
        style = "bold green" if name == r.leader else None
        base = _ci(row["diff_vs_baseline"], row["diff_vs_baseline_ci_low"],
                   row["diff_vs_baseline_ci_high"]) if "diff_vs_baseline" in row else "-"
        table.add_row(str(int(row["rank"])), str(name), _num(row["score"]),
                      _ci(row["mean"], row["ci_low"], row["ci_high"]), _num(row["p90"]),
                      _num(row["max_regret"]), f"{row['p_best']:.0%}",
                      _ci(row["diff_vs_leader"], row["diff_vs_leader_ci_low"],
                          row["diff_vs_leader_ci_high"]), _p(row["p_holm_vs_leader"]), base,
                      _p(row.get("p_holm_vs_baseline", math.nan)),
                      "met" if row["meets_constraints"] else "[red]NOT met[/]", style=style)
    return table


def _constraints_table(r: "Ranking") -> Table:
    table = Table(title="Constraints: share of runs that meet them", title_justify="left")
    for head in ("strategy", "constraint", "rate", f"{r.confidence:.0%} CI", "required", "met"):
        table.add_column(head, justify="left" if head in ("strategy", "constraint") else "right")
    for c in r.constraints.itertuples():
        table.add_row(c.strategy, c.constraint, f"{c.rate:.1%}", f"{c.ci_low:.1%} - {c.ci_high:.1%}",
                      f"{c.required:.0%}", "yes" if c.met else "[red]no[/]")
    return table


def print_ranking(r: "Ranking") -> None:
    """Print the ranking, constraints, Pareto set, discovery findings and the recommendation."""
    console.print(ranking_table(r))
    if len(r.constraints):
        console.print(_constraints_table(r))
    if r.pareto_kpis:
        console.print(f"Pareto set over {', '.join(r.pareto_kpis)} (by {r.risk_label}): "
                      f"[bold]{', '.join(r.pareto)}[/]", highlight=False)
    for finding in r.discovery:
        console.print(f"[dim]discovery:[/] {finding.text}", highlight=False)
    for note in r.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"\n[bold]{r.recommendation}[/]", highlight=False, soft_wrap=True)


def sensitivity_table(sens: Any) -> Table:
    """Parameters x strategies: Sobol' S1 / ST with intervals, or extra-trees scores."""
    sobol = sens.method == "sobol"
    title = (f"Sensitivity of {sens.kpi}: Sobol' first / total order [95% bootstrap interval of ST]"
             if sobol else f"Sensitivity of {sens.kpi}: extra-trees score [5-95% over trees]; "
                           "dim = no better than a random probe")
    table = Table(title=title, title_justify="left")
    table.add_column("parameter")
    for name in sens.tables:
        table.add_column(name, justify="right")
    params = list(next(iter(sens.tables.values())).index) if sens.tables else []
    for param in params:
        cells = []
        for t in sens.tables.values():
            row = t.loc[param]
            if sobol:
                cells.append(f"{row['S1']:.2f} / {row['ST']:.2f} [{row['ST_low']:.2f}, {row['ST_high']:.2f}]")
            else:
                text = f"{row['importance']:.2f} [{row['low']:.2f}, {row['high']:.2f}]"
                cells.append(text if row["above_noise"] else f"[dim]{text}[/]")
        table.add_row(str(param).removeprefix("param."), *cells)
    return table


def print_sensitivity(directory: Any, kpi: str) -> None:
    """Print the sensitivity table, or why there is none."""
    from twinworld.analysis.sensitivity import sensitivity

    try:
        sens = sensitivity(directory, kpi=kpi)
    except SweepError as err:
        console.print(f"[yellow]note:[/] no sensitivity: {err}", highlight=False)
        return
    console.print(sensitivity_table(sens))


def sweep_extender(directory: Path) -> Callable[[int], Any]:
    """``replications -> results``: grow the sweep in ``directory`` through the sweep engine.

    Raises
    ------
    SweepError
        When the sweep engine is not available or the folder does not name its scenario file.
    """
    from twinworld.analysis.results import load_results
    try:
        from twinworld.experiments.sweep import sweep
    except ImportError as err:
        raise SweepError("--until-confident needs the sweep engine (twinworld.experiments.sweep), "
                         f"which this installation lacks ({err}); rank without it, or run "
                         "`twinworld sweep SCENARIO --out DIR` with more replications") from err
    results = load_results(directory)
    candidates = [results.manifest.get("scenario_file"), directory / "scenario.yaml"]
    scenario_file = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if scenario_file is None:
        raise SweepError(f"{directory}: cannot find the swept scenario file (manifest scenario_file "
                         f"{candidates[0]!r}, nor scenario.yaml)")
    from twinworld.experiments.sweep import SweepOptions

    # Keep the sweep as it was made (the scenario file's own sweep: section may say otherwise).
    made = {key: results.manifest[key] for key in ("scenarios", "design") if results.manifest.get(key)}

    def extend(replications: int) -> Any:
        console.print(f"[dim]sweep: extending {directory} to {replications} replication(s)…[/]")
        sweep(scenario_file, directory, SweepOptions(replications=replications, **made))
        return load_results(directory)

    return extend


def rank(
    directory: Path = typer.Argument(..., help="Sweep folder (results/ and manifest.json)."),
    primary: str | None = typer.Option(None, "--primary", help="KPI to rank on (default: the scenario's)."),
    risk: str | None = typer.Option(None, "--risk", help=_RISK_HELP),
    cvar_alpha: float | None = typer.Option(None, "--cvar-alpha", help="CVaR level, e.g. 0.9."),
    confidence: float | None = typer.Option(None, "--confidence", help="e.g. 0.95."),
    until_confident: bool = typer.Option(False, "--until-confident",
                                         help="Add replications (KN procedure) until the leader is separated."),
    budget: int | None = typer.Option(None, "--budget", help="Most runs in total for --until-confident "
                                                                "(default: 5x the runs so far)."),
    delta: float | None = typer.Option(None, "--delta", help="Indifference zone for --until-confident, "
                                                              "in the KPI's unit."),
    step: int = typer.Option(1, "--step", help="Replications added per round."),
    pareto: str | None = typer.Option(None, "--pareto", help=_PARETO_HELP),
    failure: str = typer.Option("auto", "--failure", help=_FAILURE_HELP),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the ranking table as CSV."),
    show_sensitivity: bool = typer.Option(True, "--sensitivity/--no-sensitivity",
                                          help="Sobol' indices (sobol design) or extra-trees scores "
                                               "of the primary KPI."),
) -> None:
    """Rank the strategies of a finished sweep: mean with CI, CVaR, regret, P(best), paired tests."""
    from twinworld.analysis.ranking import RankOptions
    from twinworld.analysis.ranking import rank as rank_results
    from twinworld.analysis.results import load_results
    from twinworld.analysis.selection import select_until_confident
    if until_confident:
        results = load_results(directory)
        extend = sweep_extender(directory)
        outcome = select_until_confident(results, extend, kpi=primary,
                                         budget_runs=budget or 5 * len(results.runs), delta=delta,
                                         confidence=confidence, step=step)
        console.print(outcome.message, style="bold" if outcome.separated else "yellow",
                      highlight=False, soft_wrap=True)
        source: Any = outcome.results
    else:
        source = directory
    ranking = rank_results(source, RankOptions(primary=primary, risk=risk, cvar_alpha=cvar_alpha,
                                               confidence=confidence, pareto_kpis=_kpi_list(pareto),
                                               failure=failure))
    print_ranking(ranking)
    if show_sensitivity and ranking.results is not None and ranking.results.parameters:
        print_sensitivity(ranking.results, ranking.primary)
    if csv is not None:
        writing(csv, ranking.table.to_csv)
        console.print(f"wrote {csv}")


def report(
    directory: Path = typer.Argument(..., help="Sweep folder (results/ and manifest.json)."),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="HTML file to write."),
    primary: str | None = typer.Option(None, "--primary", help="KPI to rank on."),
    risk: str | None = typer.Option(None, "--risk", help=_RISK_HELP),
    title: str | None = typer.Option(None, "--title", help="Report title."),
    pareto: str | None = typer.Option(None, "--pareto", help=_PARETO_HELP),
    failure: str = typer.Option("auto", "--failure", help=_FAILURE_HELP),
    optimization: Path | None = typer.Option(None, "--optimization",
                                                help="An optimize folder whose Pareto front to add."),
    show_sensitivity: bool = typer.Option(True, "--sensitivity/--no-sensitivity",
                                          help="Add the sensitivity section."),
) -> None:
    """Write one self-contained HTML report: ranking, recommendation, figures, discovery, sensitivity.

    DIRECTORY may be an optimize folder: its fresh-scenario ranking (after --save-strategy) or its
    named strategies on the search's scenarios are reported, with the Pareto front.
    """
    from twinworld.analysis.ranking import RankOptions
    from twinworld.analysis.ranking import rank as rank_results
    from twinworld.viz.report import write_report
    directory, optimization = _optimization_sweep(directory, optimization)
    loaded = None
    if optimization is not None:
        from twinworld.optimize import load_optimization
        loaded = load_optimization(optimization)
    ranking = rank_results(directory, RankOptions(primary=primary, risk=risk, pareto_kpis=_kpi_list(pareto),
                                                  failure=failure))
    path = writing(output, lambda target: write_report(ranking, target, title=title, sensitivity=show_sensitivity,
                                                       optimization=loaded))
    console.print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    console.print(ranking.recommendation, highlight=False, soft_wrap=True)


def _optimization_sweep(directory: Path, optimization: Path | None) -> tuple[Path, Path | None]:
    """For an optimize folder: the sweep to rank in it (newest fresh-scenario ranking, else the
    named strategies on the search's scenarios) and the folder itself."""
    if not (directory / "optimize.json").exists():
        return directory, optimization
    fresh = sorted(directory.glob("validation-*/manifest.json"), key=lambda p: p.stat().st_mtime)
    sweep_dir = fresh[-1].parent if fresh else directory / "evaluations" / "reference"
    return sweep_dir, optimization or directory


def register(app: typer.Typer) -> None:
    app.command("rank")(rank)
    app.command("report")(report)

"""One self-contained HTML report of a ranking: tables, recommendation, figures, discovery.

Figures are embedded as base64 PNG images, so the file can be mailed or opened offline; it loads
nothing from the network (no scripts, fonts or style sheets from elsewhere).
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from twinworld.analysis.ranking import Ranking, RankOptions, rank
from twinworld.errors import TwinworldError
from twinworld.results import CASCADE_PREFIX, KPI_PREFIX, PARAM_PREFIX
from twinworld.viz.cascade import cascade_counts, cascade_timeline
from twinworld.viz.decision import pareto_figure, sensitivity_figure
from twinworld.viz.figures import discovery_scatter, figure_png, kpi_distributions, ranking_intervals, regret_cdf

__all__ = ["report_html", "write_report", "report_figures"]

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
tr.leader td{background:#eaf6ea;font-weight:600}
.recommendation{background:#f4f8ff;border-left:4px solid #3a6fd8;padding:.8em 1em}
.warn{color:#a33}figure{margin:1em 0}figcaption{font-size:.85em;color:#555}
img{max-width:100%;height:auto}
"""


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool,)):
        return "yes" if value else "no"
    if isinstance(value, (int,)):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def _p(value: float) -> str:
    return "–" if value is None or math.isnan(value) else ("<0.001" if value < 0.001 else f"{value:.3f}")


def _ci(mid: float, low: float, high: float) -> str:
    if isinstance(low, float) and math.isnan(low):
        return _num(mid)
    return f"{_num(mid)} [{_num(low)}, {_num(high)}]"


def _ranking_table(r: Ranking) -> str:
    conf = f"{r.confidence:.0%}"
    heads = ["rank", "strategy", f"mean [{conf} CI]", "median", "p90",
             f"CVaR{round(r.cvar_alpha * 100)}", "mean regret", "max regret", "P(best)",
             f"vs leader [{conf} CI]", "Holm p", "vs baseline [CI]", "Holm p", "meets constraints"]
    ranked_by = {"mean": 2, "median": 3, "p90": 4, "cvar": 5, "mean_regret": 6, "max_regret": 7}
    heads[ranked_by[r.risk]] += " ▲ranked by"
    rows = []
    for name, row in r.table.iterrows():
        cls = ' class="leader"' if name == r.leader else ""
        base = (_ci(row["diff_vs_baseline"], row["diff_vs_baseline_ci_low"], row["diff_vs_baseline_ci_high"])
                if "diff_vs_baseline" in row else "–")
        cells = [str(int(row["rank"])), html.escape(str(name)),
                 _ci(row["mean"], row["ci_low"], row["ci_high"]), _num(row["median"]), _num(row["p90"]),
                 _num(row["cvar"]), _num(row["mean_regret"]), _num(row["max_regret"]),
                 f"{row['p_best']:.0%}",
                 _ci(row["diff_vs_leader"], row["diff_vs_leader_ci_low"], row["diff_vs_leader_ci_high"]),
                 _p(row["p_holm_vs_leader"]), base, _p(row.get("p_holm_vs_baseline", math.nan)),
                 "yes" if row["meets_constraints"] else '<span class="warn">no</span>']
        rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return (f'<table id="ranking-table"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _frame_table(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    body = []
    for index, row in frame.iterrows():
        label = " / ".join(map(str, index)) if isinstance(index, tuple) else str(index)
        cells = [html.escape(label)] + [html.escape(v) if isinstance(v, str) else _num(v) for v in row]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def report_figures(r: Ranking, *, sensitivity: Any = None, optimization: Any = None) -> dict[str, Any]:
    """The report's figures by id: ranking, distribution, regret, one discovery-<strategy> each, and
    ``sensitivity`` (the leader's) and ``pareto`` when those are given."""
    runs = r.results.ok if r.results is not None else pd.DataFrame()
    unit = r.results.units.get(r.primary, "") if r.results is not None else ""
    order = list(r.table.index)
    figures = {
        "ranking": ranking_intervals(r.table, kpi=r.primary, risk_label=r.risk_label,
                                     confidence=r.confidence, unit=unit),
        "distribution": kpi_distributions(runs, r.primary, direction=r.direction, strategies=order,
                                          unit=unit),
        "regret": regret_cdf(runs, r.primary, direction=r.direction, strategies=order, unit=unit),
    }
    for finding in r.discovery:
        if finding.box is not None:
            figures[f"discovery-{finding.strategy}"] = discovery_scatter(finding)
    if sensitivity is not None and r.leader in sensitivity.tables:
        figures["sensitivity"] = sensitivity_figure(
            sensitivity.tables[r.leader], title=f"Sensitivity of {r.primary} under '{r.leader}'")
    if optimization is not None:
        figures["pareto"] = pareto_figure(optimization.candidates, optimization.reference,
                                          optimization.labels,
                                          [o.lower_is_better for o in optimization.objectives])
    return figures


_CAPTIONS = {"ranking": "Mean of the primary KPI with its confidence interval, best first.",
             "distribution": "Distribution of the primary KPI over all scenarios, per strategy.",
             "regret": "Regret: how much worse than the best strategy of the same scenario."}


def report_html(r: Ranking, *, title: str | None = None, sensitivity: bool = True,
                optimization: Any = None) -> str:
    """The report as one HTML string (figures embedded).

    ``sensitivity``: add Sobol' indices (sobol design) or extra-trees scores of the primary KPI.
    ``optimization``: an :class:`~twinworld.optimize.OptimizeResult` whose Pareto front to show.
    """
    results = r.results
    name = (results.manifest.get("scenario") if results is not None else None) or "sweep"
    title = title or f"twinworld ranking — {name}"
    sens, sens_note = _sensitivity(r) if sensitivity else (None, "")
    figures = report_figures(r, sensitivity=sens, optimization=optimization)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", _overview(r),
             "<h2>Recommendation</h2>",
             f'<p class="recommendation" id="recommendation">{html.escape(r.recommendation)}</p>']
    parts += [f'<p class="warn">{html.escape(n)}</p>' for n in r.notes]
    parts += [f"<h2>Ranking on {html.escape(r.primary)} ({html.escape(r.direction)}) by "
              f"{html.escape(r.risk_label)}</h2>", _ranking_table(r)]
    if len(r.constraints):
        cons = r.constraints.set_index("strategy")
        for col in ("rate", "ci_low", "ci_high", "required"):
            cons[col] = [f"{v:.1%}" for v in cons[col]]
        cons["met"] = ["yes" if v else "NO" for v in cons["met"]]
        parts += ["<h2>Constraints (satisficing rate)</h2>", _frame_table(cons, "constraints-table")]
    if r.pareto_kpis:
        parts.append(f"<h2>Pareto set</h2><p id='pareto'>Over {', '.join(map(html.escape, r.pareto_kpis))}"
                     f" (by {html.escape(r.risk_label)}), no strategy beats these on every KPI: "
                     f"<b>{', '.join(map(html.escape, r.pareto))}</b>.</p>")
    parts.append("<h2>Figures</h2>")
    for key in ("ranking", "distribution", "regret"):
        parts.append(_figure_html(key, figures[key], _CAPTIONS[key]))
    parts.append("<h2>Scenario discovery: when does each strategy fail?</h2>")
    if not r.discovery:
        parts.append("<p>No sampled parameters in the results: nothing to discover.</p>")
    for finding in r.discovery:
        parts.append(f"<p class='finding'>{html.escape(finding.text)}</p>")
        key = f"discovery-{finding.strategy}"
        if key in figures:
            parts.append(_figure_html(key, figures[key], f"Runs of '{finding.strategy}': failures "
                                                        f"in red, the PRIM box dashed."))
    parts += _sensitivity_html(r, sens, sens_note, figures)
    parts += _cascade_html(r)
    if optimization is not None:
        parts += _pareto_html(optimization, figures["pareto"])
    parts += ["<h2>Every KPI</h2>", _summary_table(r),
              f"<p><small>Made by twinworld on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
              f"Paired comparisons over common random numbers; p-values Holm-corrected.</small></p>",
              "</body></html>"]
    return "\n".join(parts)


def _cascade_html(r: Ranking) -> list[str]:
    """Cascades: in how many scenarios each chain (root system -> outcome) did harm, per strategy,
    and the timeline of the leader's worst scenario, re-run from its seed and sampled values."""
    results = r.results
    if results is None or not any(c.startswith(CASCADE_PREFIX) for c in results.runs.columns):
        return []
    counts = cascade_counts(results.ok)
    crossing = counts[(counts["from"] != counts["to"]) & (counts["from"] != "none")]
    parts = ["<h2>Cascades across systems</h2>"]
    if crossing.empty:
        return parts + ["<p id='cascades'>No outcome was traced back to another system's failure.</p>"]
    table = crossing.assign(share_of_scenarios=[f"{v:.0%}" for v in crossing["share_of_scenarios"]])
    parts += ["<p id='cascades'>Share of the sampled scenarios in which a failure that began in one "
              "system caused harm in another (and the mean amount per scenario):</p>",
              _frame_table(table.set_index(["strategy", "from", "to"]), "cascade-table")]
    timeline = _worst_timeline(r)
    if timeline is not None:
        fig, caption = timeline
        parts.append(_figure_html("cascade", fig, caption))
    return parts


def _worst_timeline(r: Ranking) -> tuple[Any, str] | None:
    """The leader's worst scenario on the primary KPI, re-run to draw its cause chains."""
    import numpy as np

    from twinworld.experiments.run import run
    from twinworld.scenario.loader import load_scenario

    results = r.results
    if results is None or results.path is None:
        return None
    sources = [Path(str(results.manifest.get("scenario_file") or "")), results.path / "scenario.yaml"]
    source = next((p for p in sources if p.name and p.is_file()), None)
    if source is None:
        return None
    rows = results.ok[results.ok["strategy"] == r.leader]
    column = KPI_PREFIX + r.primary
    if rows.empty or column not in rows:
        return None
    worst = rows.loc[rows[column].idxmax() if r.direction == "minimize" else rows[column].idxmin()]
    try:
        scenario = load_scenario(source)
        values = {c[len(PARAM_PREFIX):]: float(worst[c]) for c in rows.columns if c.startswith(PARAM_PREFIX)}
        seed = int(worst["seed"])
        done = run(scenario, r.leader, seed=seed, values=values, run_seed=np.random.SeedSequence(seed))
    except (TwinworldError, OSError):  # the report stands without the picture (the scenario moved)
        return None
    title = f"'{r.leader}' in its worst scenario (#{int(worst['scenario_index'])})"
    return (cascade_timeline(done.cascade, title=title),
            f"Cause chains of the worst scenario for '{r.leader}' on {r.primary}: disruptions (stars), "
            "services lost (triangles), consumers degraded (dots); arrows from cause to effect.")


def _figure_html(key: str, fig: Any, caption: str) -> str:
    return (f'<figure id="fig-{html.escape(key)}"><img alt="{html.escape(key)}" '
            f'src="{figure_png(fig)}"><figcaption>{html.escape(caption)}</figcaption></figure>')


def _overview(r: Ranking) -> str:
    res = r.results
    if res is None:
        return ""
    return (f"<p id='overview'>{res.scenarios()} scenario samples × {res.replications()} "
            f"replication(s) × {len(res.strategies)} strategies = {len(res.runs)} runs "
            f"({res.n_failed} failed). Strategies: {html.escape(', '.join(res.strategies))}.</p>")


def _summary_table(r: Ranking) -> str:
    s = r.summary
    frame = pd.DataFrame({
        "mean [CI]": [_ci(a, b, c) for a, b, c in zip(s["mean"], s["ci_low"], s["ci_high"])],
        "median": s["median"], "p90": s["p90"], "CVaR": s["cvar"], "max regret": s["max_regret"],
        "P(best)": [f"{v:.0%}" for v in s["p_best"]]}, index=s.index)
    return _frame_table(frame, "summary-table")


def _sensitivity(r: Ranking) -> tuple[Any, str]:
    from twinworld.analysis.sensitivity import sensitivity
    from twinworld.errors import SweepError

    if r.results is None or not r.results.parameters:
        return None, "No sampled parameters in the results: nothing to attribute."
    try:
        return sensitivity(r.results, kpi=r.primary), ""
    except SweepError as err:
        return None, f"No sensitivity: {err}"


def _sensitivity_html(r: Ranking, sens: Any, note: str, figures: dict[str, Any]) -> list[str]:
    parts = [f"<h2>Sensitivity: which sampled parameters drive {html.escape(r.primary)}</h2>"]
    if sens is None:
        return parts + [f"<p>{html.escape(note)}</p>"]
    if sens.method == "sobol":
        parts.append("<p>Sobol' indices from the sweep's Saltelli design: S1 is the share of the "
                     "KPI's variance a parameter explains alone, ST alone and together with others "
                     "(95% bootstrap intervals in the figure). Table: ST per strategy.</p>")
    else:
        parts.append("<p>Extra-trees feature scores (share of the trees' impurity reduction). A "
                     "random probe column, which has no effect by construction, scores "
                     f"{sens.tables[next(iter(sens.tables))].attrs.get('noise_level', 0):.3f}: "
                     "scores near it are no evidence of an effect. For variance shares with "
                     "intervals, sweep with the sobol design.</p>")
    summary = sens.summary()
    summary.index = [str(p).removeprefix("param.") for p in summary.index]
    summary.index.name = "parameter"
    parts.append(_frame_table(summary, "sensitivity-table"))
    if "sensitivity" in figures:
        parts.append(_figure_html("sensitivity", figures["sensitivity"],
                                  f"Sensitivity under the recommended strategy '{r.leader}'."))
    return parts


def _pareto_html(optimization: Any, fig: Any) -> list[str]:
    o = optimization
    columns = [*o.levers, *o.labels]
    front = o.pareto[columns].copy()
    named = o.reference[o.labels].copy()
    named.index = [f"named: {n}" for n in named.index]
    table = pd.concat([front, named])
    table.index.name = "candidate"
    text = (f"<p id='pareto-search'>A search over the levers {html.escape(', '.join(o.levers))} tried "
            f"{len(o.candidates)} candidates, each on the same sampled scenarios (common random "
            f"numbers). {len(o.pareto)} of them are on the Pareto front: no other candidate is at "
            f"least as good on every objective ({html.escape(', '.join(o.labels))}) and better on "
            "one. The named strategies, on the same scenarios, are listed below the front.</p>")
    return ["<h2>Lever search: Pareto front</h2>", text, _frame_table(table.fillna("–"), "pareto-table"),
            _figure_html("pareto", fig, "Candidates tried, the Pareto front and the named strategies.")]


def write_report(source: Ranking | Any, output: str | Path, *, title: str | None = None,
                 sensitivity: bool = True, optimization: Any = None, options: RankOptions | None = None) -> Path:
    """Rank (unless given a :class:`Ranking`) and write the HTML report to ``output``."""
    ranking = source if isinstance(source, Ranking) else rank(source, options)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report_html(ranking, title=title, sensitivity=sensitivity,
                                  optimization=optimization), encoding="utf-8")
    return output

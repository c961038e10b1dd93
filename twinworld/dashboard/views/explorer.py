"""The sweep explorer: ranking, distributions, regret, discovery; filters; click a run to replay it.

Every figure is drawn from aggregates DuckDB computes over the sweep's Parquet files; the browser
gets quantiles, bins and a bounded sample of points, never the whole sweep.
"""

from __future__ import annotations

import math
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx

from twinworld.dashboard.charts import (
    box_figure,
    empty_figure,
    histogram_figure,
    regret_figure,
    scatter_figure,
    strategy_colours,
)
from twinworld.dashboard.options import DashboardError
from twinworld.dashboard.ranking import ranking_for
from twinworld.dashboard.sweepdata import Filters, SweepSource
from twinworld.dashboard.ui import card, fmt, graph, guard, note, stat, table

__all__ = ["layout", "register"]

_ALL = "__all__"


def layout(ctx: Any) -> html.Div:
    sweeps = [{"label": f"{o.source.name if o.source else o.path.name} — {o.path}", "value": key}
              for key, o in ctx.sweeps.items()]
    first = next((k for k, o in ctx.sweeps.items() if o.source is not None), sweeps[0]["value"] if sweeps else None)
    # The first sweep's controls are filled in here, not by a callback: one round trip less before
    # the figures arrive.
    status, kpis, kpi, strategies, strategy, xs, x, filters = _controls(ctx, first)
    controls = html.Div([
        _control("Sweep", dcc.Dropdown(id="explorer-sweep", options=sweeps, value=first, clearable=False)),
        _control("KPI", dcc.Dropdown(id="explorer-kpi", options=kpis, value=kpi, clearable=False)),
        _control("Strategy", dcc.Dropdown(id="explorer-strategy", options=strategies, value=strategy,
                                          clearable=False)),
        _control("Scatter against", dcc.Dropdown(id="explorer-x", options=xs, value=x, clearable=False)),
    ], className="controls")
    return html.Div([
        html.Div(id="explorer-message"),
        html.Div(status, id="explorer-status"),
        controls,
        html.Details([html.Summary("Filter scenarios by sampled parameters"),
                      html.Div(filters, id="explorer-filters", className="filters")], open=True,
                     className="filter-box"),
        html.Div(id="explorer-counts", className="stats-row"),
        card("Under these filters", html.Div(id="explorer-summary"), id="summary-card"),
        card("Ranking with confidence (twinworld rank on the filtered runs)",
             dcc.Loading([html.Div(id="explorer-recommendation", className="recommendation"),
                          html.Div(id="explorer-ranking")], type="dot"), id="ranking-card"),
        html.Div([card(None, graph("explorer-box")), card(None, graph("explorer-hist"))], className="grid-2"),
        html.Div([card(None, graph("explorer-scatter")), card(None, graph("explorer-regret"))], className="grid-2"),
        html.Div([card("Worst runs under these filters", html.Div(id="explorer-worst")),
                  card("Where each strategy fails (scenario discovery, whole sweep)",
                       dcc.Loading(html.Div(id="explorer-discovery"), type="dot"))], className="grid-2"),
    ], className="view")


def _controls(ctx: Any, key: str | None) -> tuple:
    """Status note, KPI options and value, strategy options and value, x options and value, filters."""
    if not ctx.sweeps:
        return (note("No sweep folder given: start with `twinworld dashboard DIR` (a folder written by "
                     "`twinworld sweep`) to explore a sweep.", "info"), [], None, [], None, [], None, None)
    opened = ctx.sweeps.get(key or "")
    if opened is None or opened.source is None:
        return (note(opened.error if opened else "no sweep", "error"), [], None, [], None, [], None, None)
    source = opened.source
    status = source.status().message()
    strategies = [{"label": "all strategies", "value": _ALL}] + [{"label": s, "value": s} for s in source.strategies]
    xs = [{"label": p, "value": p} for p in source.parameters] + \
         [{"label": f"KPI: {k}", "value": k} for k in source.kpis]
    sliders = [_range_slider(p, lo, hi) for p, (lo, hi) in source.parameter_ranges().items() if hi > lo]
    return (note(status, "warning") if status else None, [{"label": k, "value": k} for k in source.kpis],
            source.primary, strategies, _ALL, xs, xs[0]["value"] if xs else None,
            sliders or html.P("this sweep sampled no parameters", className="muted"))


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label), component], className="control")


def _source(ctx: Any, key: str | None) -> SweepSource:
    if not ctx.sweeps:
        raise DashboardError("no sweep folder given: start with `twinworld dashboard DIR` "
                             "(a folder written by `twinworld sweep`)")
    opened = ctx.sweeps.get(key or "")
    if opened is None:
        raise DashboardError(f"unknown sweep {key!r}")
    if opened.source is None:
        raise DashboardError(opened.error)
    opened.source.refresh()
    return opened.source


def _filters(source: SweepSource, values: list[Any], ids: list[dict[str, str]], strategy: str | None) -> Filters:
    bounds = source.parameter_ranges()
    ranges = {}
    for value, ident in zip(values or [], ids or []):
        name = ident["param"]
        if not value or name not in bounds:
            continue
        low, high = bounds[name]
        slack = (high - low) * 1e-6
        lo = -math.inf if value[0] <= low + slack else float(value[0])
        hi = math.inf if value[1] >= high - slack else float(value[1])
        if math.isfinite(lo) or math.isfinite(hi):
            ranges[name] = (lo, hi)
    return Filters.of(ranges, None if strategy in (None, _ALL) else strategy)


def _range_slider(name: str, low: float, high: float) -> html.Div:
    step = (high - low) / 200 if high > low else 1.0
    return html.Div([
        html.Label(name, className="filter-label"),
        dcc.RangeSlider(id={"type": "param-range", "param": name}, min=low, max=high, step=step,
                        value=[low, high], marks={low: fmt(low), high: fmt(high)},
                        tooltip={"placement": "bottom", "always_visible": False}, updatemode="mouseup",
                        allow_direct_input=False),
    ], className="filter")


def _ranking_table(source: SweepSource, kpi: str, filters: Filters) -> tuple[Any, Any]:
    ranking = ranking_for(source, kpi, filters)
    conf = f"{ranking.confidence:.0%}"
    rows = []
    for name, row in ranking.table.iterrows():
        rows.append({"rank": int(row["rank"]), "strategy": name, "score": float(row["score"]),
                     "mean": float(row["mean"]), "ci": f"{fmt(float(row['ci_low']))} – {fmt(float(row['ci_high']))}",
                     "vs_leader": float(row["diff_vs_leader"]),
                     "vs_ci": _interval(row["diff_vs_leader_ci_low"], row["diff_vs_leader_ci_high"]),
                     "holm": _p(row["p_holm_vs_leader"]),
                     "constraints": "met" if bool(row["meets_constraints"]) else "NOT met"})
    columns = [("rank", "#"), ("strategy", "strategy"), ("score", ranking.risk_label), ("mean", "mean"),
               ("ci", f"{conf} CI"), ("vs_leader", "vs leader"), ("vs_ci", f"{conf} CI"), ("holm", "Holm p"),
               ("constraints", "constraints")]
    chosen = filters.strategy
    grid = table(rows, columns, id="ranking-table",
                 highlight=lambda r: r["strategy"] == (chosen or ranking.leader))
    words = [html.P(ranking.recommendation)] + [html.P(n, className="muted") for n in ranking.notes]
    return words, grid


def _interval(low: Any, high: Any) -> str:
    low, high = float(low), float(high)
    return "" if math.isnan(low) and math.isnan(high) else f"{fmt(low)} – {fmt(high)}"


def _p(value: Any) -> str:
    value = float(value)
    return "–" if math.isnan(value) else ("<0.001" if value < 0.001 else f"{value:.3f}")


def _summary(source: SweepSource, kpi: str, filters: Filters) -> Any:
    from twinworld.scenario.model import RankingSettings

    alpha = RankingSettings.model_validate(source.manifest.get("ranking") or {}).cvar_alpha
    frame = source.summary(kpi, filters, alpha=alpha)
    if frame.empty:
        return note("no finished runs match the filters")
    frame["p_best"] = [f"{p:.0%}" if p == p else "–" for p in frame["p_best"]]
    columns = [("strategy", "strategy"), ("runs", "paired runs"), ("mean", "mean"), ("median", "median"),
               ("p90", "p90"), ("cvar", f"CVaR{round(alpha * 100)}"), ("mean_regret", "mean regret"),
               ("max_regret", "max regret"), ("p_best", "P(best)")]
    return table(frame.to_dict("records"), columns, id="summary-table",
                 highlight=lambda r: r["strategy"] == filters.strategy)


def _worst(source: SweepSource, kpi: str, filters: Filters) -> Any:
    worst = source.worst_runs(kpi, filters, limit=8)
    if worst.empty:
        return note("no finished runs match the filters")
    columns = [("run_id", "run"), ("strategy", "strategy"), ("value", kpi)]
    columns += [(c, c.removeprefix("param.")) for c in worst.columns if c.startswith("param.")][:2]
    return table(worst.to_dict("records"), columns, id="worst-runs",
                 action=lambda r: html.Button("replay", id={"type": "open-run", "run": r["run_id"]},
                                              className="button small", n_clicks=0))


def _counts(source: SweepSource, filters: Filters) -> list[Any]:
    counts = source.counts(filters)
    runs = int(counts["runs"].sum()) if len(counts) else 0
    failed = int(counts["failed"].sum()) if len(counts) else 0
    label = f"runs of {filters.strategy}" if filters.strategy else "runs"
    status = source.status()
    return [stat(label, f"{runs:,}", id="explorer-run-count"), stat("failed", f"{failed:,}"),
            stat("strategies", f"{len(source.strategies)}"), stat("parameters", f"{len(source.parameters)}"),
            stat("sweep", "complete" if status.complete else "unfinished")]


def register(app: Dash, ctx: Any) -> None:
    @app.callback(Output("explorer-status", "children"), Output("explorer-kpi", "options"),
                  Output("explorer-kpi", "value"), Output("explorer-strategy", "options"),
                  Output("explorer-strategy", "value"), Output("explorer-x", "options"),
                  Output("explorer-x", "value"), Output("explorer-filters", "children"),
                  Input("explorer-sweep", "value"), prevent_initial_call=True)
    @guard("sweep explorer", 8)
    def choose_sweep(key: str | None) -> tuple:
        _source(ctx, key)  # a sweep that cannot be opened is an error in place
        return _controls(ctx, key)

    @app.callback(Output("explorer-message", "children"), Output("explorer-counts", "children"),
                  Output("explorer-summary", "children"), Output("explorer-box", "figure"),
                  Output("explorer-hist", "figure"),
                  Output("explorer-regret", "figure"), Output("explorer-scatter", "figure"),
                  Output("explorer-worst", "children"),
                  Input("explorer-sweep", "value"), Input("explorer-kpi", "value"),
                  Input("explorer-strategy", "value"), Input("explorer-x", "value"),
                  Input({"type": "param-range", "param": ALL}, "value"),
                  State({"type": "param-range", "param": ALL}, "id"))
    @guard("sweep explorer", 8)
    def update(key: str | None, kpi: str | None, strategy: str | None, x: str | None,
               values: list, ids: list) -> tuple:
        if not ctx.sweeps:
            return (no_update,) * 8
        source = _source(ctx, key)
        if not kpi or kpi not in source.kpis:
            return (no_update,) * 8
        filters = _filters(source, values, ids, strategy)
        colours = strategy_colours(source.strategies)
        unit, direction = source.unit(kpi), source.direction(kpi)
        total = int(source.counts(filters)["runs"].sum())
        scatter = scatter_figure(source.sample(x, kpi, filters), x, kpi, colours, total=total) if x \
            else empty_figure("no parameter to plot against")
        return (None, _counts(source, filters), _summary(source, kpi, filters),
                box_figure(source.box_stats(kpi, filters), kpi, unit, direction, colours),
                histogram_figure(source.histogram(kpi, filters), kpi, unit, colours),
                regret_figure(source.regret(kpi, filters), kpi, unit, colours), scatter,
                _worst(source, kpi, filters))

    _register_ranking(app, ctx)
    _register_open(app, ctx)


def _register_ranking(app: Dash, ctx: Any) -> None:
    @app.callback(Output("explorer-recommendation", "children"), Output("explorer-ranking", "children"),
                  Input("explorer-sweep", "value"), Input("explorer-kpi", "value"),
                  Input("explorer-strategy", "value"),
                  Input({"type": "param-range", "param": ALL}, "value"),
                  State({"type": "param-range", "param": ALL}, "id"))
    @guard("ranking", 2)
    def ranked(key: str | None, kpi: str | None, strategy: str | None, values: list, ids: list) -> tuple:
        if not ctx.sweeps:
            return None, None
        source = _source(ctx, key)
        if not kpi or kpi not in source.kpis:
            return no_update, no_update
        try:
            return _ranking_table(source, kpi, _filters(source, values, ids, strategy))
        except DashboardError:
            raise
        except Exception as err:  # e.g. too few complete scenarios under the filters: say so in place
            return note(f"no ranking under these filters: {err}", "warning"), None

    @app.callback(Output("explorer-discovery", "children"), Input("explorer-sweep", "value"),
                  Input("explorer-kpi", "value"))
    @guard("scenario discovery", 1)
    def discovery(key: str | None, kpi: str | None) -> Any:
        if not ctx.sweeps:
            return None
        source = _source(ctx, key)
        if not kpi or not source.parameters:
            return note("scenario discovery needs sampled parameters", "info")
        ranking = ranking_for(source, kpi, discover=True)
        if not ranking.discovery:
            return note("no failures found to explain", "info")
        return html.Ul([html.Li([html.B(f.strategy), f": {f.text}"]) for f in ranking.discovery],
                       className="findings")



def _register_open(app: Dash, ctx: Any) -> None:
    @app.callback(Output("replay-request", "data", allow_duplicate=True), Output("tabs", "value", allow_duplicate=True),
                  Input("explorer-scatter", "clickData"),
                  Input({"type": "open-run", "run": ALL}, "n_clicks"),
                  State("explorer-sweep", "value"), prevent_initial_call=True)
    def open_run(click: dict | None, _clicks: list, key: str | None) -> tuple:
        trigger = dash_ctx.triggered_id
        if trigger == "explorer-scatter":
            points = (click or {}).get("points") or []
            run_id = points[0].get("customdata") if points else None
        elif isinstance(trigger, dict) and dash_ctx.triggered and dash_ctx.triggered[0].get("value"):
            run_id = trigger.get("run")
        else:
            return no_update, no_update
        if not run_id:
            return no_update, no_update
        return {"source": "sweep", "sweep": key, "run_id": run_id}, "replay"

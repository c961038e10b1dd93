"""The run replay: one run's state over time on the map, with a time slider and the cascade timeline."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from twinworld.dashboard.charts import series_figure, timeline_figure
from twinworld.dashboard.mapfig import STATE_COLOURS, map_figure
from twinworld.dashboard.options import DashboardError
from twinworld.dashboard.ui import card, fmt, graph, guard, note, table

__all__ = ["layout", "register", "replay_series"]


def layout(ctx: Any) -> html.Div:
    scenario = ctx.scenario.scenario
    strategies = list(scenario.strategies) if scenario is not None else []
    first = {"source": "scenario", "strategy": strategies[0], "seed": int(scenario.seed)} if strategies else None
    controls = html.Div([
        html.Div([html.Label("Strategy"), dcc.Dropdown(id="replay-strategy", options=strategies,
                                                       value=strategies[0] if strategies else None,
                                                       clearable=False)], className="control"),
        html.Div([html.Label("Seed"), dcc.Input(id="replay-seed", type="number", step=1,
                                                value=int(scenario.seed) if scenario is not None else 0,
                                                className="input")], className="control narrow"),
        html.Button("Run", id="replay-run", n_clicks=0, className="button"),
        html.Span("or open a run from the sweep explorer", className="muted"),
    ], className="controls")
    player = html.Div([
        html.Button("▶ play", id="replay-play", n_clicks=0, className="button small"),
        html.Div(dcc.Slider(id="replay-slider", min=0, max=1, step=1, value=0, marks=None,
                            updatemode="drag"), className="slider"),
        html.Div(id="replay-clock", className="clock"),
    ], className="player")
    legend = html.Div([html.Span([html.I(className="swatch", style={"background": c}), name], className="legend-item")
                       for name, c in STATE_COLOURS.items()] +
                      [html.Span("facility colour: green = fine … red = overwhelmed; black bus = dark",
                                 className="muted")], className="legend")
    return html.Div([
        html.Div(id="replay-message"),
        controls if scenario is not None else None,
        dcc.Loading(html.Div(id="replay-header"), type="dot"),
        player, legend,
        html.Div([card(None, graph("replay-map"), class_name="map-card"),
                  html.Div([card(None, graph("replay-timeline")),
                            card("Events so far", html.Div(id="replay-events"))])], className="grid-map"),
        card("State over time", graph("replay-series")),
        dcc.Store(id="replay-request"), dcc.Store(id="replay-first", data=first), dcc.Store(id="replay-key"),
        dcc.Interval(id="replay-tick", interval=600, disabled=True),
    ], className="view")


# ------------------------------------------------------------------------------ computing --
def _compute(ctx: Any, request: dict[str, Any]) -> tuple[str, Any]:
    from twinworld.dashboard.regionmap import region_map
    from twinworld.dashboard.replay import replay_run

    if request.get("source") == "sweep":
        opened = ctx.sweeps.get(str(request.get("sweep")))
        if opened is None or opened.source is None:
            raise DashboardError(opened.error if opened else "that sweep is not open")
        source, run_id = opened.source, str(request["run_id"])
        row = source.run_row(run_id)
        loaded = ctx.sweep_scenario(str(request["sweep"]))
        if loaded.scenario is None:
            raise DashboardError(loaded.error)
        values = {p: float(row["param." + p]) for p in source.parameters if row.get("param." + p) is not None}
        seed, strategy = int(row["seed"]), str(row["strategy"])
        key = f"sweep:{request['sweep']}:{run_id}"
        recorded = {k: row.get("kpi." + k) for k in source.kpis}

        def work() -> dict[str, Any]:
            replay = replay_run(loaded.scenario, strategy, seed=seed, values=values,
                                run_seed=np.random.SeedSequence(seed), frames=ctx.options.replay_frames)
            return {"replay": replay, "region": region_map(loaded.scenario), "recorded": recorded,
                    "title": f"Run {run_id} of the sweep {source.path.name}", "status": row.get("status")}
        return key, ctx.replay(key, work)
    scenario = ctx.scenario.scenario
    if scenario is None:
        raise DashboardError(ctx.scenario.error)
    strategy = str(request.get("strategy"))
    if strategy not in scenario.strategies:
        raise DashboardError(f"unknown strategy {strategy!r}; valid: {', '.join(scenario.strategies)}")
    seed = request.get("seed")
    if seed is None or not math.isfinite(float(seed)):
        raise DashboardError("the seed must be a whole number")
    seed = int(seed)
    key = f"scenario:{strategy}:{seed}"

    def work() -> dict[str, Any]:
        replay = replay_run(scenario, strategy, seed=seed, frames=ctx.options.replay_frames)
        return {"replay": replay, "region": ctx.region(), "recorded": {},
                "title": "Scenario run", "status": "ok"}
    return key, ctx.replay(key, work)


def _header(entry: dict[str, Any]) -> Any:
    replay = entry["replay"]
    values = ", ".join(f"{k} = {fmt(v)}" for k, v in replay.values.items()) or "no sampled parameters"
    recorded = entry["recorded"]
    rows = [{"kpi": k, "value": v, "recorded": recorded.get(k), "same": _same(v, recorded.get(k))}
            for k, v in replay.kpis.items()]
    columns = [("kpi", "KPI"), ("value", "this replay")]
    if recorded:
        columns += [("recorded", "in the sweep"), ("same", "reproduced")]
    return card(f"{entry['title']}: {replay.strategy}, seed {replay.seed}",
                html.P(f"{replay.scenario}. Sampled values: {values}.", className="muted"),
                html.Details([html.Summary(f"KPIs ({len(rows)})" +
                                           (" — compared with the sweep's row" if recorded else "")),
                              table(rows, columns, id="replay-kpis")], open=bool(recorded)),
                id="replay-title")


def _same(value: Any, recorded: Any) -> Any:
    if recorded is None or (isinstance(recorded, float) and math.isnan(recorded)):
        return None
    return "yes" if math.isclose(float(value), float(recorded), rel_tol=1e-9, abs_tol=1e-9) else "NO"


def replay_series(replay: Any) -> list[tuple[str, pd.DataFrame]]:
    """Small multiples of a run's state: occupancy, waiting, anchorage, stock, roads, grid."""
    series = []
    for system, kind in replay.systems.items():
        if kind == "hospital_region" and f"{system}.occupancy" in replay.tables:
            occ = replay.tables[f"{system}.occupancy"]
            if len(occ):
                share = occ.assign(share=100 * occ["occupied"] / occ["capacity"].clip(lower=1))
                series.append((f"{system}: beds in use (% of capacity)",
                               share.pivot_table("share", "time_h", "hospital")))
                series.append((f"{system}: patients waiting for a bed",
                               occ.pivot_table("waiting", "time_h", "hospital")))
        elif kind == "port" and f"{system}.hourly" in replay.tables:
            hourly = replay.tables[f"{system}.hourly"].set_index("time_h")
            if len(hourly):
                series.append((f"{system}: vessels at anchorage and berths busy",
                               hourly[["anchorage", "berths_occupied"]]))
        elif kind == "supply_network" and f"{system}.stock" in replay.tables:
            stock = replay.tables[f"{system}.stock"]
            if len(stock):
                series.append((f"{system}: units on hand", stock.pivot_table("on_hand", "time_h", "warehouse")))
        elif kind == "road_network" and system in replay.links:
            density, closed = replay.links[system]
            frame = pd.DataFrame({"jammed": ((density >= 0.9) & ~closed).sum(axis=1), "closed": closed.sum(axis=1)},
                                 index=replay.times_h[:len(density)])
            series.append((f"{system}: road links jammed or closed", frame))
        elif kind == "power_grid":
            series.append((f"{system}: grid buses dark", _dark_buses(replay, system)))
    return series


def _dark_buses(replay: Any, system: str) -> pd.DataFrame:
    prefix = f"{system}.bus."
    levels = replay.services[replay.services["key"].str.startswith(prefix)]
    counts = []
    for t in replay.times_h:
        now = levels[levels["time_h"] <= t].groupby("key")["level"].last()
        counts.append(int((now < 0.5).sum()))
    return pd.DataFrame({"dark buses": counts}, index=replay.times_h)


def _events_table(events: pd.DataFrame, now_h: float, scale: float, unit: str) -> Any:
    shown = events[events["time_h"] <= now_h].tail(12).iloc[::-1]
    if shown.empty:
        return html.P("nothing has happened yet", className="muted")
    rows = [{"time": f"{t / scale:.2f} {unit}", "system": s, "element": e, "kind": k, "cause": c}
            for t, s, e, k, c in shown[["time_h", "system", "element", "kind", "cause"]].itertuples(index=False)]
    return table(rows, [("time", "time"), ("system", "system"), ("element", "element"), ("kind", "what"),
                        ("cause", "cause")], id="replay-events-table")


def register(app: Dash, ctx: Any) -> None:
    @app.callback(Output("replay-request", "data", allow_duplicate=True), Input("tabs", "value"),
                  State("replay-request", "data"), State("replay-first", "data"),
                  prevent_initial_call="initial_duplicate")
    def first_visit(tab: str, request: Any, first: Any) -> Any:
        """Replay the first strategy on the scenario's seed when the view is first opened."""
        return first if tab == "replay" and not request and first else no_update

    @app.callback(Output("replay-request", "data", allow_duplicate=True), Input("replay-run", "n_clicks"),
                  State("replay-strategy", "value"), State("replay-seed", "value"), prevent_initial_call=True)
    def run_clicked(_clicks: int, strategy: str, seed: Any) -> dict[str, Any]:
        return {"source": "scenario", "strategy": strategy, "seed": seed}

    @app.callback(Output("replay-message", "children"), Output("replay-header", "children"),
                  Output("replay-key", "data"), Output("replay-slider", "max"),
                  Output("replay-slider", "marks"), Output("replay-slider", "value"),
                  Input("replay-request", "data"))
    @guard("run replay", 6)
    def compute(request: dict[str, Any] | None) -> tuple:
        if not request and ctx.scenario.scenario is not None:
            return (no_update,) * 6
        if not request:
            text = ctx.scenario.error or "open a run from the sweep explorer"
            return note(text, "info"), None, None, no_update, no_update, no_update
        key, entry = _compute(ctx, request)
        replay = entry["replay"]
        scale, unit = (24.0, "d") if replay.horizon_h > 72 else (1.0, "h")
        last = len(replay.times_h) - 1
        digits = 0 if replay.horizon_h / scale >= 10 else 1
        marks = {int(i): f"{replay.times_h[i] / scale:.{digits}f}{unit}" for i in np.linspace(0, last, 7).astype(int)}
        message = note(f"this run failed in the sweep ({entry['status']})", "warning") \
            if entry.get("status") not in (None, "ok") else None
        return message, _header(entry), key, last, marks, 0

    _register_frame(app, ctx)


def _register_frame(app: Dash, ctx: Any) -> None:
    @app.callback(Output("replay-map", "figure"), Output("replay-timeline", "figure"),
                  Output("replay-series", "figure"), Output("replay-clock", "children"),
                  Output("replay-events", "children"),
                  Input("replay-slider", "value"), Input("replay-key", "data"))
    @guard("run replay", 5)
    def frame(index: int | None, key: str | None) -> tuple:
        entry = ctx.cached_replay(key) if key else None
        if entry is None:
            return (no_update,) * 5
        replay, region = entry["replay"], entry["region"]
        index = int(np.clip(index or 0, 0, len(replay.times_h) - 1))
        now = float(replay.times_h[index])
        scale, unit = (24.0, "days") if replay.horizon_h > 72 else (1.0, "hours")
        panel = "map" if any(p.key == "map" for p in region.panels) else region.panels[0].key
        figure = map_figure(region, panel, state=replay.state_at(now), height=560, labels=True)
        clock = f"t = {now / scale:.2f} {unit} of {replay.horizon_h / scale:.3g}"
        return (figure, timeline_figure(replay.timeline, replay.horizon_h, now),
                series_figure(replay_series(replay), replay.horizon_h, now), clock,
                _events_table(replay.events, now, scale, unit))

    @app.callback(Output("replay-tick", "disabled"), Output("replay-play", "children"),
                  Input("replay-play", "n_clicks"), prevent_initial_call=True)
    def toggle(clicks: int) -> tuple:
        playing = bool(clicks and clicks % 2 == 1)
        return not playing, "❚❚ pause" if playing else "▶ play"

    @app.callback(Output("replay-slider", "value", allow_duplicate=True), Input("replay-tick", "n_intervals"),
                  State("replay-slider", "value"), State("replay-slider", "max"), prevent_initial_call=True)
    def tick(_n: int, value: int | None, last: int | None) -> int:
        return 0 if (value or 0) >= (last or 0) else (value or 0) + 1

"""The live view: each system's current state from the twin, the recommendation, messages, quarantine.

The page polls the server once a second and redraws only when a message has arrived since.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from twinworld.dashboard.charts import census_figure, recommendation_figure
from twinworld.dashboard.ui import card, fmt, guard, note, stat, table

__all__ = ["layout", "register"]


def layout(ctx: Any) -> html.Div:
    return html.Div([
        html.Div(id="live-message"),
        html.Div(id="live-summary", className="stats-row"),
        html.Div(id="live-body"),
        dcc.Interval(id="live-tick", interval=1000, disabled=ctx.live is None),
        dcc.Store(id="live-version", data=-1),
    ], className="view")


def _ago(time_s: float | None) -> str:
    if not time_s:
        return "–"
    seconds = max(0.0, time.time() - time_s)
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def _beds(ctx: Any, system: str) -> dict[str, int]:
    scenario = ctx.scenario.scenario
    config = scenario.systems.get(system) if scenario is not None else None
    if config is None or config.kind != "hospital_region":
        return {}
    return {h.name: int(h.ward_beds + h.icu_beds) for h in config.hospitals}


def _posterior(posterior: dict[str, Any]) -> Any:
    rows = []
    for name, post in sorted(posterior.items()):
        if isinstance(post, dict) and "median" in post:
            interval = f"[{fmt(post.get('low'))}, {fmt(post.get('high'))}]" if "low" in post else ""
            rows.append({"parameter": name, "median": fmt(post["median"]), "interval": interval})
    if not rows:
        return None
    return table(rows, [("parameter", "calibrated parameter"), ("median", "posterior median"),
                        ("interval", "90% credible interval")], id="live-posterior")


def _recommendation(rec: dict[str, Any] | None, status: dict[str, Any] | None) -> Any:
    if rec is None:
        waiting = "the twin has published no recommendation yet"
        if status is not None:
            waiting += f" (twin round {status.get('round', 0)}, status {_ago(status.get('time_s'))})"
        return card("Recommendation", html.P(waiting, className="muted", id="live-recommended"))
    messages: dict[str, Any] = rec["messages"] if isinstance(rec.get("messages"), dict) else {}
    extras = [stat(label, fmt(value)) for label, value in (
        ("effective sample size", rec.get("ess")), ("particles", rec.get("particles")),
        ("sampled futures", rec.get("draws", rec.get("samples"))),
        ("messages the twin has read", messages.get("received")),
        ("quarantined by the twin", messages.get("quarantined"))) if value is not None]
    posterior = rec.get("posterior")
    when = rec.get("state_time")
    return card("Recommendation" + (f" at {when}" if when else ""),
                html.P([html.Span("Recommended: "),
                        html.B(str(rec.get("recommended", "–")), id="live-recommended"),
                        html.Span(f"  (round {rec.get('round', '–')}, received {_ago(rec.get('time_s'))})",
                                  className="muted")], className="big"),
                dcc.Graph(figure=recommendation_figure(rec.get("strategies", []), str(rec.get("primary", "")),
                                                       str(rec.get("direction", "minimize")),
                                                       str(rec.get("recommended", ""))),
                          config={"displaylogo": False}),
                html.Div(extras, className="stats-row"),
                _posterior(posterior) if isinstance(posterior, dict) else None)


def _census(ctx: Any, system: str, census: dict[str, dict[str, Any]]) -> Any:
    beds = _beds(ctx, system)
    rows = [{"hospital": h, "ward": c["ward_occupied"], "icu": c["icu_occupied"],
             "beds": beds.get(h), "updated": _ago(c.get("time_s"))} for h, c in sorted(census.items())]
    missing = sorted(set(beds) - set(census))
    return card(f"{system}: bed census",
                dcc.Graph(figure=census_figure(census, beds), config={"displaylogo": False}),
                table(rows, [("hospital", "hospital"), ("ward", "ward occupied"), ("icu", "ICU occupied"),
                             ("beds", "staffed beds"), ("updated", "updated")], id=f"live-census-{system}"),
                html.P(f"no census yet from {', '.join(missing)}", className="muted") if missing else None)


def _topics(topics: dict[str, dict[str, Any]]) -> Any:
    if not topics:
        return None
    rows = [{"topic": t, "system": v["system"], "value": json.dumps(v["data"])[:120], "updated": _ago(v["time_s"])}
            for t, v in sorted(topics.items())]
    return card("Other state and events (latest per topic)",
                table(rows, [("system", "system"), ("topic", "topic"), ("value", "value"), ("updated", "updated")]))


def _log(snapshot: Any) -> Any:
    rows = [{"time": time.strftime("%H:%M:%S", time.localtime(m["time_s"])), "topic": m["topic"],
             "status": m["status"], "payload": m["payload"][:90]} for m in reversed(snapshot.log)]
    bad = [{"topic": q["topic"], "reason": q["reason"], "payload": q["payload"][:60]}
           for q in reversed(snapshot.quarantine)]
    return html.Div([
        card("Messages (latest first)", table(rows, [("time", "time"), ("topic", "topic"), ("status", "status"),
                                                     ("payload", "payload")], id="live-log")
             if rows else html.P("no messages yet", className="muted")),
        card("Quarantine", table(bad, [("topic", "topic"), ("reason", "reason"), ("payload", "payload")],
                                 id="live-quarantine") if bad else html.P("nothing quarantined", className="muted")),
    ], className="grid-2")


def _body(ctx: Any, snapshot: Any) -> list[Any]:
    blocks = [html.Div([_recommendation(snapshot.recommendation, snapshot.twin_status)]
                       + [_census(ctx, system, census) for system, census in sorted(snapshot.census.items())],
                       className="grid-2")]
    blocks.append(_topics(snapshot.topics))
    blocks.append(_log(snapshot))
    return blocks


def register(app: Dash, ctx: Any) -> None:
    @app.callback(Output("live-message", "children"), Output("live-summary", "children"),
                  Output("live-body", "children"), Output("live-version", "data"),
                  Input("live-tick", "n_intervals"), State("live-version", "data"))
    @guard("live view", 4)
    def refresh(_n: int | None, seen: int | None) -> tuple:
        if ctx.live is None:
            return (note("No twin broker given: start with --twin HOST:PORT to watch a live twin "
                         "(twinworld twin SCENARIO --broker HOST:PORT publishes to it).", "info"),
                    None, None, no_update)
        snapshot = ctx.live.snapshot()
        level = "ok" if snapshot.connected else "error"
        message = note(snapshot.status, level)
        summary = [stat("messages", f"{snapshot.received:,}", id="live-received"),
                   stat("quarantined", f"{snapshot.quarantined:,}", id="live-quarantined"),
                   stat("systems reporting", f"{len(snapshot.systems):,}", id="live-systems"),
                   stat("broker", "connected" if snapshot.connected else "unreachable", id="live-broker")]
        if snapshot.version == seen:
            return message, summary, no_update, no_update
        return message, summary, _body(ctx, snapshot), snapshot.version

"""Plotly charts of the explorer, the replay and the live view (built from server-side aggregates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twinworld.dashboard.events import cause_links

__all__ = ["strategy_colours", "box_figure", "histogram_figure", "regret_figure", "scatter_figure",
           "timeline_figure", "series_figure", "recommendation_figure", "census_figure", "empty_figure"]

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#7f7f7f", "#bcbd22"]
_KIND_COLOURS = {"damage": "#d32f2f", "trip": "#e64a19", "substation_lost": "#b71c1c", "unit_trip": "#f57c00",
                 "restored": "#388e3c", "reclosed": "#388e3c", "substation_back": "#2e7d32", "unit_back": "#2e7d32",
                 "service_lost": "#6a1b9a", "buffer_spent": "#8e24aa", "beds_degraded": "#ad1457",
                 "bed_loss": "#c2185b", "surge_beds_open": "#0288d1", "port_closed": "#d84315",
                 "port_reopened": "#43a047", "vessel_diverted": "#5d4037", "effect_on": "#1565c0",
                 "effect_off": "#90a4ae", "reroute": "#00897b"}


def strategy_colours(strategies: Sequence[str]) -> dict[str, str]:
    """A fixed colour per strategy (by its position), shared by every chart."""
    return {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(strategies)}


def _base(fig: Any, height: int, *, title: str = "") -> Any:
    """Shared look; works on a ``go.Figure`` and on a plain figure dict (the explorer's, which skip
    Plotly's Python-side validation: it costs more than the DuckDB queries behind them)."""
    layout = dict(height=height, margin=dict(l=60, r=20, t=(100 if "<br>" in title else 78) if title else 30, b=40),
                  title=dict(text=title, x=0, font=dict(size=14)) if title else None,
                  plot_bgcolor="white", paper_bgcolor="white", font=dict(size=12),
                  legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    axis = dict(gridcolor="#eceff1", zeroline=False)
    if isinstance(fig, dict):
        merged = fig.setdefault("layout", {})
        for key in ("xaxis", "yaxis"):
            merged[key] = {**axis, **merged.get(key, {})}
        fig["layout"] = {**layout, **{k: v for k, v in merged.items() if k not in ("legend",) or v}}
        return fig
    fig.update_layout(**layout)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    return fig


def empty_figure(message: str, *, height: int = 240) -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=13, color="#607d8b"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, height)


def _title(kpi: str, unit: str) -> str:
    return f"{kpi}{f' ({unit})' if unit else ''}"


def _list(values: Any) -> list:
    return [None if isinstance(v, float) and v != v else v for v in np.asarray(values).tolist()]


# ------------------------------------------------------------------------------ explorer --
def box_figure(stats: pd.DataFrame, kpi: str, unit: str, direction: str, colours: dict[str, str]) -> Any:
    """Box plots from precomputed quantiles (whiskers at p10 and p90, ticks at min and max)."""
    if stats.empty:
        return empty_figure("no finished runs match the filters")
    data = []
    for row in stats.itertuples(index=False):
        colour = colours.get(row.strategy)
        data.append(dict(type="box", name=row.strategy, x=[row.strategy], q1=[row.q1], median=[row.median],
                         q3=[row.q3], lowerfence=[row.p10], upperfence=[row.p90], mean=[row.mean],
                         marker=dict(color=colour), line=dict(color=colour), boxmean=True, showlegend=False,
                         hoverinfo="y+name"))
        data.append(dict(type="scatter", x=[row.strategy, row.strategy], y=[row.min, row.max], mode="markers",
                         marker=dict(color=colour, size=9, symbol="line-ew-open"), showlegend=False,
                         hovertemplate="%{y:.3g} (min / max)<extra></extra>"))
    worse = "higher is worse" if direction == "minimize" else "lower is worse"
    fig = {"data": data, "layout": {"yaxis": {"title": {"text": _title(kpi, unit)}}}}
    return _base(fig, 340, title=f"Distribution per strategy ({worse})<br><sup>box: quartiles · whiskers: "
                                 "p10–p90 · dashed: mean · ticks: min and max</sup>")


def histogram_figure(hist: pd.DataFrame, kpi: str, unit: str, colours: dict[str, str]) -> Any:
    if hist.empty:
        return empty_figure("no finished runs match the filters")
    data = [dict(type="bar", x=_list((part["left"] + part["right"]) / 2), y=_list(part["count"]),
                 width=_list(part["right"] - part["left"]), name=strategy, marker=dict(color=colours.get(strategy)),
                 opacity=0.55, hovertemplate=f"{strategy}: %{{y}} runs near %{{x:.3g}}<extra></extra>")
            for strategy, part in hist.groupby("strategy", sort=False)]
    fig = {"data": data, "layout": {"barmode": "overlay", "xaxis": {"title": {"text": _title(kpi, unit)}},
                                    "yaxis": {"title": {"text": "runs"}}}}
    return _base(fig, 300, title="Histogram<br><sup>bins computed on the server</sup>")


def regret_figure(regret: pd.DataFrame, kpi: str, unit: str, colours: dict[str, str]) -> Any:
    """Mean, p90 and max regret per strategy, with P(best) written on the bars."""
    if regret.empty:
        return empty_figure("no scenario where every strategy finished matches the filters")
    data = []
    for column, opacity in {"mean_regret": 1.0, "p90_regret": 0.6, "max_regret": 0.3}.items():
        data.append(dict(type="bar", x=_list(regret["strategy"]), y=_list(regret[column]),
                         name=column.replace("_", " "), opacity=opacity,
                         marker=dict(color=[colours.get(s) for s in regret["strategy"]]),
                         text=[f"P(best) {p:.0%}" if column == "mean_regret" else "" for p in regret["p_best"]],
                         textposition="outside", textfont=dict(size=12, color="#37474f"), cliponaxis=False,
                         hovertemplate="%{x}: %{y:.3g}<extra>" + column + "</extra>"))
    fig = {"data": data, "layout": {"barmode": "group", "uniformtext": dict(minsize=11, mode="show"),
                                    "yaxis": {"title": {"text": f"regret ({unit})" if unit else "regret"}}}}
    return _base(fig, 300, title="Regret<br><sup>how much worse than the best strategy of the same scenario"
                                 "</sup>")


def scatter_figure(points: pd.DataFrame, x: str, kpi: str, colours: dict[str, str], *, total: int) -> Any:
    """Sampled runs; ``customdata`` holds each point's run id (a click opens its replay)."""
    if points.empty:
        return empty_figure("no finished runs match the filters")
    data = [dict(type="scatter", x=_list(part["x"]), y=_list(part["y"]), mode="markers", name=strategy,
                 marker=dict(color=colours.get(strategy), size=7, opacity=0.75, line=dict(width=0.5, color="white")),
                 customdata=part["run_id"].tolist(),
                 hovertemplate="%{customdata}<br>" + x + " %{x:.3g}<br>" + kpi +
                               " %{y:.3g}<br><i>click to replay</i><extra></extra>")
            for strategy, part in points.groupby("strategy", sort=False)]
    shown = len(points)
    note = f"{shown:,} of {total:,} runs shown (a fixed sample)" if shown < total else f"all {total:,} runs"
    fig = {"data": data, "layout": {"xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": kpi}}}}
    return _base(fig, 360, title=f"Runs by sampled parameter<br><sup>{note} · click a point to replay it</sup>")


# ------------------------------------------------------------------------------ replay --
def _time_axis(horizon_h: float) -> tuple[float, str]:
    return (24.0, "days") if horizon_h > 72 else (1.0, "hours")


def timeline_figure(events: pd.DataFrame, horizon_h: float, now_h: float | None = None) -> go.Figure:
    """The cascade: events by system over time, links from causes to effects, a line at ``now_h``.

    ``events`` has the columns ``time_h, system, element, kind, cause, detail``.
    """
    scale, unit = _time_axis(horizon_h)
    if events.empty:
        fig = empty_figure("no events in this run")
    else:
        fig = go.Figure()
        lanes = list(dict.fromkeys(events["system"].replace("", "(run)")))
        y = events["system"].replace("", "(run)")
        for a, b in cause_links(events):
            fig.add_trace(go.Scatter(x=[events.at[a, "time_h"] / scale, events.at[b, "time_h"] / scale],
                                     y=[y[a], y[b]], mode="lines", line=dict(color="#b0bec5", width=1),
                                     hoverinfo="skip", showlegend=False))
        for kind, part in events.groupby("kind", sort=False):
            hover = [f"<b>{k}</b> {e}<br>{t / scale:.2f} {unit}<br>cause: {c or '–'}<br>{d}"
                     for k, e, t, c, d in zip(part["kind"], part["element"], part["time_h"], part["cause"],
                                              part["detail"])]
            fig.add_trace(go.Scatter(x=part["time_h"] / scale, y=y[part.index], mode="markers", name=kind,
                                     marker=dict(size=10, color=_KIND_COLOURS.get(kind), symbol="diamond",
                                                 line=dict(color="white", width=1)),
                                     hovertext=hover, hoverinfo="text"))
        fig.update_yaxes(categoryorder="array", categoryarray=lanes[::-1], ticks="", showline=False)
        _base(fig, 150 + 46 * len(lanes), title="Cascade timeline")
        fig.update_layout(legend=dict(orientation="v", y=1, yanchor="top", x=1.02, font=dict(size=11)),
                          margin=dict(r=130, t=40))
    if now_h is not None:
        fig.add_vline(x=now_h / scale, line=dict(color="#263238", width=1.5, dash="dash"))
    fig.update_xaxes(title=unit, range=[0, horizon_h / scale])
    return fig


def series_figure(series: list[tuple[str, pd.DataFrame]], horizon_h: float, now_h: float) -> go.Figure:
    """Small multiples of a run's state over time; ``series`` is ``(title, time_h x label table)``."""
    if not series:
        return empty_figure("this run keeps no state over time")
    scale, unit = _time_axis(horizon_h)
    fig = make_subplots(rows=len(series), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[title for title, _ in series])
    shown: dict[str, str] = {}
    for row, (_, frame) in enumerate(series, start=1):
        for column in frame.columns:
            label = str(column)
            first = label not in shown
            colour = shown.setdefault(label, _PALETTE[len(shown) % len(_PALETTE)])
            fig.add_trace(go.Scatter(x=frame.index / scale, y=frame[column], mode="lines", name=label,
                                     line=dict(width=1.6, color=colour),
                                     legendgroup=label, showlegend=first,
                                     hovertemplate=f"{column}: %{{y:.3g}}<extra></extra>"), row=row, col=1)
    fig.add_vline(x=now_h / scale, line=dict(color="#263238", width=1.5, dash="dash"))
    fig.update_xaxes(title=unit, row=len(series), col=1)
    return _base(fig, 150 * len(series) + 60)


# ------------------------------------------------------------------------------ live --
def recommendation_figure(strategies: list[dict[str, Any]], primary: str, direction: str,
                          recommended: str) -> go.Figure:
    """Each strategy's forecast mean with its interval; the recommended one highlighted."""
    frame = pd.DataFrame(strategies)
    if frame.empty or "mean" not in frame:
        return empty_figure("the recommendation lists no strategies")
    frame = frame.iloc[::-1]
    low = frame["mean"] - frame.get("ci_low", frame["mean"])
    high = frame.get("ci_high", frame["mean"]) - frame["mean"]
    colour = ["#2e7d32" if s == recommended else "#546e7a" for s in frame["strategy"]]
    fig = go.Figure(go.Scatter(x=frame["mean"], y=frame["strategy"], mode="markers",
                               marker=dict(size=12, color=colour),
                               error_x=dict(type="data", array=high, arrayminus=low, color="#90a4ae", thickness=2),
                               hovertemplate="%{y}: %{x:.3g}<extra></extra>"))
    if "share_best" in frame:
        for s, m, p in zip(frame["strategy"], frame.get("ci_high", frame["mean"]), frame["share_best"]):
            fig.add_annotation(x=m, y=s, text=f"  P(best) {float(p):.0%}", showarrow=False, xanchor="left",
                               font=dict(size=11, color="#455a64"))
    better = "lower is better" if direction == "minimize" else "higher is better"
    fig.update_xaxes(title=f"{primary} ({better}); mean with 95% interval")
    return _base(fig, 90 + 42 * len(frame))


def census_figure(census: dict[str, dict[str, Any]], beds: dict[str, int]) -> go.Figure:
    """Occupied beds per hospital (latest census) against staffed beds when known."""
    if not census:
        return empty_figure("no census received yet")
    names = sorted(set(census) | set(beds))
    occupied = [census[h]["ward_occupied"] + census[h]["icu_occupied"] if h in census else 0 for h in names]
    fig = go.Figure()
    if beds:
        fig.add_trace(go.Bar(x=names, y=[beds.get(h, np.nan) for h in names], name="staffed beds",
                             marker_color="#cfd8dc"))
    share = [o / beds[h] if beds.get(h) else 0.0 for o, h in zip(occupied, names)]
    fig.add_trace(go.Bar(x=names, y=occupied, name="occupied", text=[f"{s:.0%}" if s else "" for s in share],
                         textposition="outside",
                         marker_color=[_occupancy_colour(s) for s in share]))
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(title="beds")
    return _base(fig, 300)


def _occupancy_colour(share: float) -> str:
    return "#c62828" if share >= 0.95 else "#ef6c00" if share >= 0.85 else "#2e7d32"

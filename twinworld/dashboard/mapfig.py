"""Plotly figures of the region: the map (plain longitude/latitude axes, no tiles) and its state.

Every figure is SVG (``go.Scatter``, never WebGL) so it renders in any browser, headless ones
included. Facilities of one kind form one trace whose ``meta`` says so; the tests count the
points drawn in those traces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from twinworld.dashboard.regionmap import FACILITY_LABELS, RegionMap

__all__ = ["MapState", "map_figure", "STATE_COLOURS", "STRESS_SCALE"]

_STYLE = {  # kind -> (marker symbol, colour, size)
    "hospital": ("cross", "#c62828", 16), "shelter": ("triangle-up", "#2e7d32", 13),
    "exit": ("triangle-right", "#558b2f", 12), "place": ("star", "#6a1b9a", 12),
    "port": ("diamond", "#0d47a1", 16), "berth": ("square", "#1565c0", 10),
    "warehouse": ("square", "#ef6c00", 14), "supplier": ("hexagon", "#5d4037", 13),
    "supply_port": ("diamond", "#0d47a1", 13), "customer": ("circle", "#78909c", 8),
    "bus": ("circle", "#37474f", 6), "critical_load": ("circle-dot", "#d81b60", 10),
}
_SEGMENT_STYLE = {"road": ("#9aa5b1", 1.6), "line": ("#7e57c2", 1.0), "lane": ("#8d6e63", 1.0)}
_BOLD = ("jammed", "closed", "out")  # states drawn thicker, so they stand out
_AREA_STYLE = {"zone": ("rgba(255,193,7,0.10)", "#f9a825"), "hazard": ("rgba(30,136,229,0.16)", "#1e88e5"),
               "port_limits": ("rgba(13,71,161,0.06)", "#0d47a1"), "quay": ("rgba(13,71,161,0.18)", "#0d47a1")}
#: Colours of segment states in the replay (roads by density, lines in or out of service).
STATE_COLOURS = {"free": "#9aa5b1", "busy": "#fbc02d", "congested": "#f57c00", "jammed": "#c62828",
                 "closed": "#212121", "in service": "#7e57c2", "out": "#e53935"}
#: Green (fine) to red (overwhelmed) for facility stress in the replay.
STRESS_SCALE = [[0.0, "#2e7d32"], [0.6, "#9e9d24"], [0.85, "#f9a825"], [0.95, "#ef6c00"], [1.0, "#b71c1c"]]


@dataclass
class MapState:
    """A moment of a run on the map: segment classes and facility stress (0..1) with notes."""

    time_h: float = 0.0
    segments: dict[tuple[str, str], str] = field(default_factory=dict)
    stress: dict[tuple[str, str], float] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)
    dark: set[tuple[str, str]] = field(default_factory=set)


def _lines(frame: pd.DataFrame) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for x0, y0, x1, y1 in frame[["x0", "y0", "x1", "y1"]].itertuples(index=False):
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    return xs, ys


def _segment_traces(segments: pd.DataFrame, state: MapState | None) -> list[go.Scatter]:
    traces = []
    if segments.empty:
        return traces
    classes = segments.apply(lambda r: state.segments.get((r.system, r.element)) if state else None, axis=1) \
        if state is not None else pd.Series([None] * len(segments), index=segments.index)
    frame = segments.assign(state=classes.fillna(""))
    order = list(STATE_COLOURS)
    for (kind, cls), group in sorted(frame.groupby(["kind", "state"]),
                                     key=lambda item: order.index(item[0][1]) if item[0][1] in order else -1):
        colour, width = _SEGMENT_STYLE.get(kind, ("#90a4ae", 1.0))
        if cls:
            colour = STATE_COLOURS.get(cls, colour)
        for wide, part in group.groupby(group["width"] >= 2.0):
            xs, ys = _lines(part)
            traces.append(go.Scatter(
                x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                line=dict(color=colour, width=(width + 1.4 if wide else width) * (1.5 if cls in _BOLD else 1.0)),
                name=f"{kind} {cls}".strip(), legendgroup=f"seg-{kind}-{cls}"))
    return traces


def _segment_hover(segments: pd.DataFrame, state: MapState | None) -> go.Scatter | None:
    """Invisible markers at link midpoints carrying each link's hover text."""
    if segments.empty:
        return None
    hover = segments["hover"].tolist()
    if state is not None:
        hover = [h + (f"<br><i>{state.segments[(s, e)]}</i>" if (s, e) in state.segments else "")
                 for h, s, e in zip(hover, segments["system"], segments["element"])]
    return go.Scatter(x=(segments["x0"] + segments["x1"]) / 2, y=(segments["y0"] + segments["y1"]) / 2,
                      mode="markers", marker=dict(size=7, opacity=0), hovertext=hover,
                      hoverinfo="text", showlegend=False, name="links", meta={"role": "segment-hover"})


_AREA_LABELS = {"zone": "evacuation zones", "hazard": "hazard areas (disruptions)",
                "port_limits": "port limits", "quay": "quay"}


def _area_traces(areas: pd.DataFrame) -> list[go.Scatter]:
    traces, seen = [], set()
    for area in areas.itertuples(index=False):
        fill, line = _AREA_STYLE.get(area.kind, ("rgba(0,0,0,0.05)", "#757575"))
        traces.append(go.Scatter(x=area.xs, y=area.ys, mode="lines", fill="toself", fillcolor=fill,
                                 line=dict(color=line, width=1, dash="dot" if area.kind == "hazard" else "solid"),
                                 hovertext=area.hover, hoverinfo="text", hoveron="fills",
                                 name=_AREA_LABELS.get(area.kind, area.kind), legendgroup=f"area-{area.kind}",
                                 showlegend=area.kind not in seen))
        seen.add(area.kind)
    return traces


def _facility_traces(facilities: pd.DataFrame, state: MapState | None, *, labels: bool) -> list[go.Scatter]:
    traces = []
    # A place named like a facility (a shelter called Hakaniemi) would print its name twice.
    named = set(facilities.loc[facilities["kind"] != "place", "name"])
    for kind in [k for k in FACILITY_LABELS if k in set(facilities["kind"])]:
        part = facilities[facilities["kind"] == kind]
        symbol, colour, size = _STYLE.get(kind, ("circle", "#455a64", 9))
        keys = list(zip(part["system"], part["element"]))
        hover = part["hover"].tolist()
        marker: dict[str, Any] = dict(symbol=symbol, color=colour, size=size, line=dict(color="white", width=1))
        if state is not None and any(k in state.stress for k in keys):
            marker.update(color=[state.stress.get(k, 0.0) for k in keys], colorscale=STRESS_SCALE, cmin=0,
                          cmax=1, line=dict(color="#263238", width=1.2))
        if state is not None:
            hover = [h + (f"<br>{state.notes[k]}" if k in state.notes else "") for h, k in zip(hover, keys)]
            if any(k in state.dark for k in keys):
                base = marker["color"] if isinstance(marker["color"], list) else [colour] * len(keys)
                marker["color"] = ["#000000" if k in state.dark else c for k, c in zip(keys, base)]
        show_text = labels and kind not in ("bus", "customer", "berth")
        traces.append(go.Scatter(
            x=part["x"], y=part["y"], mode="markers+text" if show_text else "markers", marker=marker,
            text=[n if kind != "place" or n not in named else "" for n in part["name"]] if show_text else None,
            textposition="top center",
            textfont=dict(size=11, color="#263238"), hovertext=hover, hoverinfo="text",
            customdata=part["element"], name=f"{FACILITY_LABELS[kind]} ({len(part)})",
            meta={"facility": kind, "count": int(len(part))}))
    return traces


def map_figure(region: RegionMap, panel: str = "map", *, state: MapState | None = None,
               height: int = 620, labels: bool = True) -> go.Figure:
    """The panel ``panel`` of ``region`` (optionally coloured by a replay ``state``)."""
    info = region.panel(panel)
    facilities = region.facilities[region.facilities["panel"] == panel]
    segments = region.segments[region.segments["panel"] == panel]
    areas = region.areas[region.areas["panel"] == panel]
    fig = go.Figure()
    for trace in _area_traces(areas) + _segment_traces(segments, state):
        fig.add_trace(trace)
    hover = _segment_hover(segments, state)
    if hover is not None:
        fig.add_trace(hover)
    for trace in _facility_traces(facilities, state, labels=labels):
        fig.add_trace(trace)
    _frame(fig, info.geographic, facilities, segments, areas, height)
    return fig


def _frame(fig: go.Figure, geographic: bool, facilities: pd.DataFrame, segments: pd.DataFrame,
           areas: pd.DataFrame, height: int) -> None:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="#f4f3ee",
                      paper_bgcolor="white", hovermode="closest", dragmode="pan",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, bgcolor="rgba(255,255,255,0.7)"),
                      uirevision="map")
    axis = dict(showgrid=False, zeroline=False, showticklabels=geographic, ticks="", title=None)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    if geographic:
        lats = [*facilities["y"], *segments["y0"], *segments["y1"], *(y for ys in areas["ys"] for y in ys)]
        mid = float(np.mean(lats)) if lats else 0.0
        # Equal ground distances on both axes: a degree of longitude is cos(latitude) as long.
        fig.update_yaxes(scaleanchor="x", scaleratio=1.0 / max(0.05, math.cos(math.radians(mid))))
    else:
        fig.update_yaxes(scaleanchor="x", scaleratio=1.0)


def stress_colour(value: float) -> str:
    """The colour of ``value`` (0..1) on :data:`STRESS_SCALE` (for legends drawn in HTML)."""
    value = float(np.clip(value, 0, 1))
    for (a, ca), (b, cb) in zip(STRESS_SCALE, STRESS_SCALE[1:]):
        if a <= value <= b:
            return cb if value - a > b - value else ca
    return STRESS_SCALE[-1][1]

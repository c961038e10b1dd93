"""The region at one moment of a run, drawn with matplotlib (for notebooks and reports).

Takes the tables of a region map (segments: roads and lines; facilities: hospitals, port, buses ...,
with ``x`` = longitude and ``y`` = latitude) and the state of a moment (a class per segment, a
stress 0..1 per facility, the dark buses), as the dashboard's ``region_map`` and ``replay_run``
produce them; knows nothing of how they were made.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from twinworld.viz.figures import _figure

__all__ = ["region_state_figure"]

_SEGMENT_COLOURS = {"free": "#9e9e9e", "busy": "#f9a825", "congested": "#ef6c00", "jammed": "#c62828",
                    "closed": "#1565c0", "in service": "#b0bec5", "out": "#6a1b9a"}
_FACILITY_MARKERS = {"hospital": ("P", 160), "port": ("s", 120), "berth": ("s", 40), "warehouse": ("D", 90),
                     "supply_port": ("s", 60), "customer": ("o", 20), "supplier": ("o", 20),
                     "bus": ("o", 30), "shelter": ("^", 60), "exit": ("^", 60), "place": ("d", 30)}


def region_state_figure(region: Any, state: Any = None, *, panel: str = "map", title: str = "",
                        margin: float = 0.15) -> Figure:
    """Roads coloured by traffic (or closed), grid lines in service or out, facilities coloured by
    stress (occupancy, queue, stock short: 0 green .. 1 red), dark buses in black.

    The view is the roads' extent (or every facility's, without roads), widened by ``margin``; a grid
    laid out around its located buses reaches beyond it and is cut off.
    """
    fig = _figure(9, 8)
    ax = fig.add_subplot()
    segments = region.segments[region.segments["panel"] == panel]
    classes = getattr(state, "segments", {}) if state is not None else {}
    for (system, kind), part in segments.groupby(["system", "kind"], sort=False):
        lines = part[["x0", "y0", "x1", "y1"]].to_numpy().reshape(-1, 2, 2)
        default = "free" if kind == "road" else "in service"
        colours = [_SEGMENT_COLOURS.get(classes.get((system, str(e)), default), "#9e9e9e") for e in part["element"]]
        width = 2.0 if kind == "road" else 0.6
        ax.add_collection(LineCollection(lines, colors=colours, linewidths=width, zorder=1 if kind == "road" else 0,
                                         alpha=0.9 if kind == "road" else 0.5))
    facilities = region.facilities[region.facilities["panel"] == panel]
    _facilities(ax, facilities, state)
    roads = segments[segments["kind"] == "road"]
    xs = pd.concat([roads["x0"], roads["x1"]]) if len(roads) else facilities["x"]
    ys = pd.concat([roads["y0"], roads["y1"]]) if len(roads) else facilities["y"]
    if len(xs):
        dx, dy = (xs.max() - xs.min()) * margin or 0.01, (ys.max() - ys.min()) * margin or 0.01
        ax.set_xlim(xs.min() - dx, xs.max() + dx)
        ax.set_ylim(ys.min() - dy, ys.max() + dy)
    ax.set_aspect(2.0)    # at 60° N a degree of longitude is about half a degree of latitude
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    handles = [ax.plot([], [], color=c, lw=3, label=k)[0] for k, c in _SEGMENT_COLOURS.items()]
    ax.legend(handles=handles, loc="lower left", fontsize=8, ncol=2, framealpha=0.8)
    when = f" at {state.time_h:.1f} h" if state is not None else ""
    ax.set_title(title or f"The region{when}", fontsize=11)
    return fig


def _facilities(ax: Any, facilities: pd.DataFrame, state: Any) -> None:
    stress = getattr(state, "stress", {}) if state is not None else {}
    dark = getattr(state, "dark", set()) if state is not None else set()
    cmap = colormaps["RdYlGn_r"]
    for kind, part in facilities.groupby("kind", sort=False):
        marker, size = _FACILITY_MARKERS.get(kind, ("o", 30))
        keys = list(zip(part["system"], part["element"].astype(str)))
        colours = ["black" if key in dark else cmap(float(stress[key])) if key in stress else "white"
                   for key in keys]
        ax.scatter(part["x"], part["y"], marker=marker, s=size, c=colours, edgecolors="k", linewidths=0.6,
                   zorder=3, label=kind)
        if kind in ("hospital", "port", "warehouse", "shelter"):
            for name, x, y in zip(part["name"], part["x"], part["y"]):
                ax.annotate(str(name), (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8)

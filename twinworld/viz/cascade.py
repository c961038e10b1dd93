"""Cascades drawn and told: one run's cause chains as a timeline, a sweep's chains as counts.

``events`` is a run's cascade table (``RunResult.cascade``: id, time_h, system, element, what,
detail, cause). A timeline has one lane per system; each event is a mark on its lane at its time,
and an arrow runs from every cause to its effect, so a storm -> bus dark -> hospital degraded chain
reads left to right and down the lanes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twinworld.results import CASCADE_PREFIX
from twinworld.viz.figures import _figure

__all__ = ["cascade_timeline", "cascade_counts", "cascade_text", "chains_to_outcomes"]

_MARKS = {"disruption": ("*", "#c0392b", 180), "service_dropped": ("v", "#e67e22", 70),
          "degraded": ("o", "#2c6fbb", 80)}
_OFFSET = {"disruption": 0.18, "service_dropped": -0.18, "degraded": 0.0}   # within a lane, by kind


def chains_to_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """The events that lie on a chain reaching another system (what a timeline should show)."""
    if events.empty:
        return events
    by_id = events.set_index("id")
    keep: set[int] = set()
    for event in events.itertuples():
        if event.what != "degraded":
            continue
        chain = [int(event.id)]
        cause = event.cause
        while cause is not None and not (isinstance(cause, float) and math.isnan(cause)):
            chain.append(int(cause))
            cause = by_id.loc[int(cause), "cause"]
        keep.update(chain)
    return events[events["id"].isin(keep)].sort_values(["time_h", "id"])


def cascade_timeline(events: pd.DataFrame, *, title: str = "", systems: Sequence[str] | None = None) -> Figure:
    """Systems as lanes over time, a mark per event, an arrow from each cause to its effect."""
    shown = chains_to_outcomes(events)
    lanes = list(systems) if systems is not None else list(dict.fromkeys(shown["system"])) or ["(none)"]
    fig = _figure(9, 1.2 + 0.7 * len(lanes))
    ax = fig.add_subplot()
    y = {s: len(lanes) - 1 - i for i, s in enumerate(lanes)}
    where = {}
    for event in shown.itertuples():
        if event.system not in y:
            continue
        marker, colour, size = _MARKS.get(event.what, ("s", "grey", 50))
        point = (event.time_h, y[event.system] + _OFFSET.get(event.what, 0.0))
        where[int(event.id)] = point
        ax.scatter(*point, marker=marker, c=colour, s=size, zorder=3, edgecolors="k", linewidths=0.5)
        ax.annotate(_label(event), point, xytext=(6, -3), textcoords="offset points", fontsize=7)
    for event in shown.itertuples():
        cause = event.cause
        if cause is None or (isinstance(cause, float) and math.isnan(cause)):
            continue
        if int(cause) in where and int(event.id) in where:
            ax.annotate("", xy=where[int(event.id)], xytext=where[int(cause)],
                        arrowprops={"arrowstyle": "->", "color": "#555", "lw": 1, "shrinkA": 6, "shrinkB": 6})
    ax.set_yticks(list(y.values()), list(y.keys()))
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlabel("simulated time (h)")
    ax.grid(axis="x", alpha=0.3)
    handles = [ax.scatter([], [], marker=m, c=c, s=s, edgecolors="k", linewidths=0.5, label=k.replace("_", " "))
               for k, (m, c, s) in _MARKS.items()]
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncol=3, bbox_to_anchor=(0, 1.12))
    ax.set_title(title or "Cascade: disruptions, services lost, consumers degraded", fontsize=10, pad=24)
    return fig


def _label(event: object) -> str:
    what, system = event.what, event.system
    if what == "disruption":
        return str(event.detail).split(" (")[0]
    element = str(event.element or system).removeprefix(f"{system}.")
    if what == "degraded":
        return f"{element} {str(event.detail).split(' capacity')[0]}"
    return f"{element} {event.detail}"


def cascade_counts(runs: pd.DataFrame) -> pd.DataFrame:
    """Per strategy and chain (``root system -> outcome system: outcome``): the share of sampled
    scenarios in which the chain produced any outcome, and the mean amount per scenario.

    ``runs`` is a sweep's table (``cascade.<root>.<system>.<outcome>`` columns; missing = none).
    """
    columns = [c for c in runs.columns if c.startswith(CASCADE_PREFIX)]
    rows = []
    for strategy, part in runs.groupby("strategy", sort=False):
        for column in columns:
            values = part[column].fillna(0.0).to_numpy(dtype=float)
            if not values.any():
                continue
            root, system, outcome = column[len(CASCADE_PREFIX):].split(".", 2)
            rows.append({"strategy": strategy, "from": root, "to": system, "outcome": outcome,
                         "share_of_scenarios": float(np.mean(values > 0)), "mean": float(values.mean())})
    return pd.DataFrame(rows, columns=["strategy", "from", "to", "outcome", "share_of_scenarios", "mean"])


def cascade_text(events: pd.DataFrame, summary: dict[str, float]) -> list[str]:
    """The chains of one run as lines for a terminal: time, system, what happened, and the outcomes."""
    lines = []
    for event in chains_to_outcomes(events).itertuples():
        hours = f"{event.time_h:7.1f} h"
        what = {"disruption": f"{event.detail}", "service_dropped": f"{event.element} {event.detail}",
                "degraded": f"{event.element or event.system}: {event.detail}"}.get(event.what, str(event.detail))
        arrow = "   " if event.what == "disruption" else "-> "
        lines.append(f"{hours:>9} {event.system:<10} {arrow}{what}")
    for key, amount in summary.items():
        root, system, outcome = key[len(CASCADE_PREFIX):].split(".", 2)
        if root not in ("none", system):
            lines.append(f"{'':>9} {system:<10} => {amount:g} {outcome.replace('_', ' ')} traced back to {root}")
    return lines

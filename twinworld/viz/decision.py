"""Figures for deciding: the Pareto front of a lever search, and sensitivity indices.

Data in (DataFrames), :class:`matplotlib.figure.Figure` out, drawn without pyplot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twinworld.viz.figures import _figure

__all__ = ["pareto_figure", "sensitivity_figure"]


def _better(lower: bool) -> str:
    return "lower is better" if lower else "higher is better"


def pareto_figure(candidates: pd.DataFrame, reference: pd.DataFrame, objectives: Sequence[str],
                  lower_is_better: Sequence[bool], *, title: str = "") -> Figure:
    """Every candidate, the Pareto front and the named strategies, over the objectives.

    One objective: the objective of each candidate in the order visited, with the best so far.
    Two: a scatter with the front joined. More: parallel coordinates of the front (each objective
    scaled so that up is better), named strategies dashed.

    Parameters
    ----------
    candidates
        One row per candidate: a column per objective label, ``on_front``, ``failed_share``.
    reference
        The named strategies: a column per objective label.
    objectives, lower_is_better
        Objective labels and which way each is better.
    """
    if len(objectives) == 1:
        fig = _single(candidates, reference, objectives[0], lower_is_better[0])
    elif len(objectives) == 2:
        fig = _scatter(candidates, reference, objectives, lower_is_better)
    else:
        fig = _parallel(candidates, reference, objectives, lower_is_better)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _single(candidates: pd.DataFrame, reference: pd.DataFrame, label: str, lower: bool) -> Figure:
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    values = candidates[label].to_numpy(dtype=float)
    order = np.arange(1, len(values) + 1)
    ax.scatter(order, values, s=12, c="0.55", lw=0, label="candidates (in the order tried)")
    best = np.minimum.accumulate(values) if lower else np.maximum.accumulate(values)
    ax.step(order, best, where="post", color="C0", label="best so far")
    for i, (name, row) in enumerate(reference.iterrows()):
        ax.axhline(float(row[label]), color=f"C{(i % 8) + 1}", ls="--", lw=1, label=f"named: {name}")
    ax.set_xlabel("candidates evaluated")
    ax.set_ylabel(f"{label} ({_better(lower)})")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"Search on {label}", fontsize=10)
    return fig


def _scatter(candidates: pd.DataFrame, reference: pd.DataFrame, labels: Sequence[str],
             lower: Sequence[bool]) -> Figure:
    fig = _figure(6.5, 5)
    ax = fig.add_subplot()
    x, y = labels
    ok = candidates["failed_share"] == 0 if "failed_share" in candidates else np.ones(len(candidates), bool)
    ax.scatter(candidates.loc[ok, x], candidates.loc[ok, y], s=12, c="0.65", lw=0, label="candidates")
    front = candidates[candidates["on_front"]].sort_values(x)
    ax.plot(front[x], front[y], "o-", color="C0", ms=5, label=f"Pareto front ({len(front)})",
            drawstyle="steps-post" if lower[0] == lower[1] else "default")
    for i, (name, row) in enumerate(reference.iterrows()):
        ax.scatter([row[x]], [row[y]], marker="s", s=40, color=f"C{(i % 8) + 1}", edgecolor="k",
                   zorder=3)
        ax.annotate(str(name), (row[x], row[y]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xlabel(f"{x} ({_better(lower[0])})")
    ax.set_ylabel(f"{y} ({_better(lower[1])})")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Pareto front of the lever search; squares: named strategies", fontsize=10)
    return fig


def _parallel(candidates: pd.DataFrame, reference: pd.DataFrame, labels: Sequence[str],
              lower: Sequence[bool]) -> Figure:
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    front = candidates[candidates["on_front"]]
    both = pd.concat([front[list(labels)], reference[list(labels)]])
    low, high = both.min(), both.max()
    span = (high - low).replace(0, 1.0)

    def scaled(frame: pd.DataFrame) -> np.ndarray:
        z = ((frame[list(labels)] - low) / span).to_numpy(dtype=float)
        return np.where(np.array(lower), 1 - z, z)  # up is better on every axis

    xs = np.arange(len(labels))
    for row in scaled(front):
        ax.plot(xs, row, color="C0", alpha=0.5, lw=1)
    for i, (name, row) in enumerate(zip(reference.index, scaled(reference))):
        ax.plot(xs, row, ls="--", lw=1.5, color=f"C{(i % 8) + 1}", label=f"named: {name}")
    ax.set_xticks(xs, [f"{label}\n{low[label]:,.3g} .. {high[label]:,.3g}" for label in labels], fontsize=7)
    ax.set_ylabel("scaled so that up is better")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"Pareto front ({len(front)} candidates, blue) against the named strategies", fontsize=10)
    return fig


def sensitivity_figure(table: pd.DataFrame, *, title: str = "") -> Figure:
    """Bars per parameter: Sobol first and total order with intervals, or extra-trees scores.

    ``table`` is indexed by parameter with ``S1``, ``S1_low``, ``S1_high``, ``ST``, ``ST_low``,
    ``ST_high`` (Sobol), or ``importance`` with ``low`` and ``high`` (extra-trees).
    """
    names = [str(p).removeprefix("param.") for p in table.index]
    y = np.arange(len(names))[::-1]
    fig = _figure(7, 1.2 + 0.38 * len(names))
    ax = fig.add_subplot()
    if "ST" in table:
        for offset, (col, color, label) in enumerate((("S1", "C0", "first order S1"),
                                                      ("ST", "C3", "total order ST"))):
            mid = table[col].to_numpy(dtype=float)
            err = np.vstack([mid - table[f"{col}_low"].to_numpy(dtype=float),
                             table[f"{col}_high"].to_numpy(dtype=float) - mid])
            ax.barh(y + (0.2 if offset == 0 else -0.2), mid, height=0.38, color=color, alpha=0.8,
                    xerr=np.clip(err, 0, None), capsize=2, label=label)
        ax.set_xlabel("Sobol index (share of output variance), 95% bootstrap interval")
    else:
        mid = table["importance"].to_numpy(dtype=float)
        err = np.vstack([mid - table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float) - mid])
        ax.barh(y, mid, height=0.6, color="C2", xerr=np.clip(err, 0, None), capsize=2,
                label="extra-trees importance")
        if "noise_level" in table.attrs:
            ax.axvline(table.attrs["noise_level"], color="k", ls=":", lw=1,
                       label="a random probe's score (no effect)")
        ax.set_xlabel("feature score (share of impurity reduction), 5-95% over trees")
    ax.set_yticks(y, names, fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "Sensitivity of the KPI to each sampled parameter", fontsize=10)
    return fig

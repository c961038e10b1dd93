"""Figures of a ranking: KPI distributions, regret CDFs, the ranking with intervals, discovery.

Figures are made with :class:`matplotlib.figure.Figure` and the Agg canvas, never through pyplot,
so no global figure state is touched and no display is needed.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from twinworld.analysis.discovery import Finding
from twinworld.analysis.results import KPI_PREFIX, PARAM_PREFIX
from twinworld.analysis.stats import paired_wide, regret

__all__ = ["kpi_distributions", "regret_cdf", "ranking_intervals", "discovery_scatter", "figure_png"]

_WORSE = {"minimize": "higher is worse", "maximize": "lower is worse"}


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _order(runs: pd.DataFrame, strategies: Sequence[str] | None) -> list[str]:
    return list(strategies) if strategies is not None else list(dict.fromkeys(runs["strategy"]))


def kpi_distributions(runs: pd.DataFrame, kpi: str, *, direction: str = "minimize",
                      strategies: Sequence[str] | None = None, unit: str = "") -> Figure:
    """Box plots with every run as a dot: the spread of one KPI per strategy.

    ``runs`` is a results table (``strategy`` and ``kpi.<kpi>`` columns).
    """
    column = kpi if kpi.startswith(KPI_PREFIX) else KPI_PREFIX + kpi
    names = _order(runs, strategies)[::-1]  # first strategy drawn at the top
    data = [runs.loc[runs["strategy"] == s, column].dropna().to_numpy(dtype=float) for s in names]
    fig = _figure(7, 0.5 + 0.45 * len(names) + 1.2)
    ax = fig.add_subplot()
    ax.boxplot(data, orientation="horizontal", tick_labels=names, showmeans=True, whis=(5, 95), showfliers=False,
               meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "k"})
    jitter = np.random.default_rng(0)  # fixed jitter, for a stable picture only
    for i, values in enumerate(data, start=1):
        ax.scatter(values, i + jitter.uniform(-0.18, 0.18, len(values)), s=9, alpha=0.45, lw=0)
    ax.set_xlabel(f"{kpi}" + (f" ({unit})" if unit else "") + f" — {_WORSE.get(direction, '')}")
    ax.set_title(f"{kpi} per strategy\nbox 25-75%, whiskers 5-95%, diamond = mean, dots = runs",
                 fontsize=10)
    return fig


def regret_cdf(runs: pd.DataFrame, kpi: str, *, direction: str = "minimize",
               strategies: Sequence[str] | None = None, unit: str = "") -> Figure:
    """Empirical CDF of regret (this strategy minus the best on the same scenario) per strategy."""
    wide = paired_wide(runs, kpi, _order(runs, strategies))
    regrets = regret(wide, direction)
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    for name in regrets.columns:
        x = np.sort(regrets[name].to_numpy(dtype=float))
        ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=name)
    ax.set_xlabel(f"regret on {kpi}" + (f" ({unit})" if unit else "") + " vs the best strategy "
                  "of the same scenario")
    ax.set_ylabel("share of scenarios")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Regret CDF: higher and further left is better", fontsize=10)
    return fig


def ranking_intervals(table: pd.DataFrame, *, kpi: str, risk_label: str = "mean",
                      confidence: float = 0.95, unit: str = "") -> Figure:
    """Mean with its confidence interval per strategy, best first, with the risk score marked.

    ``table`` is :attr:`twinworld.analysis.Ranking.table` (``mean``, ``ci_low``, ``ci_high``,
    ``score`` columns; rows best first).
    """
    names = list(table.index)
    y = np.arange(len(names))[::-1]
    fig = _figure(7, 0.6 + 0.45 * len(names) + 1.0)
    ax = fig.add_subplot()
    mean = table["mean"].to_numpy(dtype=float)
    low = mean - table["ci_low"].to_numpy(dtype=float)
    high = table["ci_high"].to_numpy(dtype=float) - mean
    ax.errorbar(mean, y, xerr=np.vstack([low, high]), fmt="o", capsize=4,
                label=f"mean with {confidence:.0%} CI")
    if risk_label != "mean" and "score" in table:
        ax.scatter(table["score"].to_numpy(dtype=float), y, marker="x", color="C3", zorder=3,
                   label=risk_label)
    ax.set_yticks(y, [f"{i + 1}. {n}" for i, n in enumerate(names)])
    ax.set_xlabel(kpi + (f" ({unit})" if unit else ""))
    ax.legend(fontsize=8)
    ax.set_title(f"Ranking on {kpi} by {risk_label} (best at the top)", fontsize=10)
    return fig


def discovery_scatter(finding: Finding, *, parameters: Sequence[str] | None = None) -> Figure:
    """Runs of one strategy over the two parameters that matter most, failures in red, PRIM box drawn.

    ``finding.data`` holds the ``param.*`` columns and a boolean ``failed`` column.
    """
    data = finding.data
    params = [c for c in data.columns if c.startswith(PARAM_PREFIX)]
    chosen = list(parameters) if parameters else list(finding.box.limits) if finding.box else []
    chosen = (chosen + [p for p in params if p not in chosen])[:2]
    fig = _figure(5.5, 4.5)
    ax = fig.add_subplot()
    if len(chosen) == 0 or data.empty:
        ax.text(0.5, 0.5, "no sampled parameters", ha="center", va="center")
        return fig
    failed = data["failed"].to_numpy(dtype=bool)
    xs = data[chosen[0]].to_numpy(dtype=float)
    ys = data[chosen[1]].to_numpy(dtype=float) if len(chosen) > 1 else np.zeros(len(data))
    ax.scatter(xs[~failed], ys[~failed], s=10, c="0.6", alpha=0.6, lw=0, label="ok")
    ax.scatter(xs[failed], ys[failed], s=14, c="C3", alpha=0.85, lw=0, label="fails")
    if finding.box is not None:
        x0, x1 = _limits(finding.box.limits.get(chosen[0]), xs)
        y0, y1 = _limits(finding.box.limits.get(chosen[1]) if len(chosen) > 1 else None, ys)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=1.5, ls="--",
                               label=f"PRIM box (coverage {finding.box.coverage:.0%}, "
                                     f"density {finding.box.density:.0%})"))
    ax.set_xlabel(chosen[0][len(PARAM_PREFIX):] if chosen[0].startswith(PARAM_PREFIX) else chosen[0])
    if len(chosen) > 1:
        ax.set_ylabel(chosen[1][len(PARAM_PREFIX):])
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"Where '{finding.strategy}' fails: {finding.failure}", fontsize=9)
    return fig


def _limits(bounds: tuple[float | None, float | None] | None, values: np.ndarray) -> tuple[float, float]:
    pad = 0.02 * (values.max() - values.min() or 1.0)
    low, high = bounds if bounds is not None else (None, None)
    return (values.min() - pad if low is None else low, values.max() + pad if high is None else high)


def figure_png(fig: Figure, *, dpi: int = 100) -> str:
    """The figure as a base64 PNG data URI (for embedding in HTML)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

"""Figures and the HTML report (the only package that imports matplotlib; Agg backend, no pyplot).

Every figure function takes DataFrames (or analysis results) and returns a
:class:`matplotlib.figure.Figure`; nothing is drawn on a global figure.
"""

from twinworld.viz.decision import pareto_figure, sensitivity_figure
from twinworld.viz.figures import discovery_scatter, figure_png, kpi_distributions, ranking_intervals, regret_cdf
from twinworld.viz.report import report_html, write_report

__all__ = ["kpi_distributions", "regret_cdf", "ranking_intervals", "discovery_scatter", "figure_png",
           "report_html", "write_report", "pareto_figure", "sensitivity_figure"]

"""The statistical ranking of a sweep for the explorer: ``twinworld.rank`` on the filtered runs.

``rank`` adds what DuckDB's aggregates do not: confidence intervals, paired tests with Holm's
correction, bootstrap intervals of risk measures, constraints, and scenario discovery. It costs a
second or two on a 10,000-run sweep, so the explorer shows it in its own panel once ready, results
are cached per (KPI, filters), and the unfiltered ranking of each sweep is computed in the
background as soon as the dashboard starts.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from twinworld.dashboard.sweepdata import Filters, SweepSource

__all__ = ["ranking_for", "prewarm"]


def _compute(source: SweepSource, kpi: str, filters: Filters, *, discover: bool) -> Any:
    from twinworld.analysis import RankOptions, rank
    from twinworld.analysis.results import SweepResults
    from twinworld.scenario.model import RankingSettings

    settings = RankingSettings.model_validate(source.manifest.get("ranking") or {})
    kpis = list(dict.fromkeys([kpi, *[c.kpi for c in settings.constraints if c.kpi in source.kpis]]))
    frame = source.frame(kpis, filters)
    if "status" not in frame:
        frame["status"] = "ok"
    results = SweepResults(frame, {k: source.direction(k) for k in kpis}, {k: source.unit(k) for k in kpis},
                           settings, source.manifest, source.path)
    return rank(results, RankOptions(primary=kpi, kpis=kpis, discover_failures=discover))


def ranking_for(source: SweepSource, kpi: str, filters: Filters = Filters(), *, discover: bool = False) -> Any:
    """The :class:`~twinworld.analysis.Ranking` of ``kpi`` on the runs the filters keep (cached).

    The strategy filter does not apply: a ranking compares every strategy. ``discover`` adds
    scenario discovery (only asked for on the whole sweep).
    """
    filters = Filters(filters.ranges)
    if not discover:  # a ranking with discovery serves as one without
        known = source.peek(("ranked", kpi, filters.ranges, True))
        if known is not None:
            return known
    return source.cached(("ranked", kpi, filters.ranges, discover),
                          lambda: _compute(source, kpi, filters, discover=discover))


def prewarm(source: SweepSource) -> threading.Thread | None:
    """Rank the whole sweep on its primary KPI (with discovery) in a background thread."""
    kpi = source.primary
    if kpi is None:
        return None

    def work() -> None:
        try:
            ranking_for(source, kpi, discover=True)
        except Exception as err:  # shown again, in place, when the page asks for it
            print(f"twinworld dashboard: ranking {source.path} in advance failed: {err}", file=sys.stderr)
    thread = threading.Thread(target=work, name=f"rank {source.path.name}", daemon=True)
    thread.start()
    return thread

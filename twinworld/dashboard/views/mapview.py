"""The region map view: roads, grid, hospitals, port and supply sites from the scenario's own data."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from twinworld.dashboard.mapfig import map_figure
from twinworld.dashboard.regionmap import FACILITY_LABELS
from twinworld.dashboard.ui import card, guard, note, stat

__all__ = ["layout", "register"]


def layout(ctx: Any) -> html.Div:
    return html.Div([
        html.Div(id="map-message"),
        html.Div(id="map-summary", className="stats-row"),
        html.Div(id="map-panels"),
    ], className="view")


def _panels(ctx: Any) -> tuple[list[Any], list[Any], list[Any]]:
    region = ctx.region()
    counts = region.counts()
    summary = [stat(FACILITY_LABELS[k], f"{v:,}", id=f"count-{k}") for k, v in counts.items()]
    summary.append(stat("facilities", f"{sum(v for k, v in counts.items() if k != 'bus'):,}", id="count-total"))
    roads = int((region.segments["kind"] == "road").sum())
    if roads:
        summary.append(stat("road links", f"{roads:,}", id="count-road-links"))
    lines = int((region.segments["kind"] == "line").sum())
    if lines:
        summary.append(stat("grid lines", f"{lines:,}", id="count-grid-lines"))
    panels = []
    for panel in region.panels:
        figure = map_figure(region, panel.key, height=640 if panel.geographic else 460)
        panels.append(card(panel.title if panel.key != "map" else f"{region.scenario}",
                           dcc.Graph(id={"type": "region-graph", "panel": panel.key}, figure=figure,
                                     config={"displaylogo": False, "scrollZoom": True, "responsive": True},
                                     className="region-graph"),
                           html.P(panel.note, className="muted") if panel.note else None,
                           class_name="map-card"))
    notes = [note(text, "info") for text in region.notes]
    notes.append(html.P("Drawn from the scenario's own data (OSM roads, grid case, facility locations); "
                        "no map tiles are loaded. Scroll to zoom, drag to pan, hover for details.",
                        className="muted"))
    return summary, panels, notes


def register(app: Dash, ctx: Any) -> None:
    @app.callback(Output("map-message", "children"), Output("map-summary", "children"),
                  Output("map-panels", "children"), Input("tabs", "value"), State("map-panels", "children"))
    @guard("region map", 3)
    def render(tab: str, drawn: Any) -> tuple[Any, Any, Any]:
        if tab != "map" or drawn:  # drawn once, when first shown
            return no_update, no_update, no_update
        summary, panels, notes = _panels(ctx)
        return notes, summary, panels

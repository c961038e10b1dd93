"""The Dash application: a header, the four views as tabs, the access token check.

Dash serves React and its component bundles from the installed Python packages
(``serve_locally=True``) and this package's ``assets/`` folder; the page asks no other host for
anything, so it works with the network closed. ``assets/plotly-cartesian.min.js`` is plotly.js's
own cartesian bundle (MIT, same version as the ``plotly`` package's full bundle; every figure here
is a cartesian trace): it defines ``window.Plotly`` before any graph renders, and ``dcc.Graph``
then uses it instead of fetching the full 4.8 MB bundle, which the browser would spend most of a
first render evaluating.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, dcc, html

from twinworld.dashboard.context import Context
from twinworld.dashboard.ui import note
from twinworld.dashboard.views import explorer, liveview, mapview, replayview

__all__ = ["create_app", "TOKEN_COOKIE"]

TOKEN_COOKIE = "twinworld_token"
_ASSETS = Path(__file__).with_name("assets")


def _header(ctx: Context) -> html.Header:
    scenario = ctx.scenario.scenario
    chips = []
    if scenario is not None:
        chips.append(html.Span(f"scenario: {scenario.name}", className="chip"))
    for opened in ctx.sweeps.values():
        label = opened.source.name if opened.source else opened.path.name
        chips.append(html.Span(f"sweep: {label}", className="chip chip-bad" if opened.error else "chip"))
    if ctx.options.twin:
        chips.append(html.Span(f"twin: {ctx.options.twin}", className="chip"))
    return html.Header([html.Div([html.Span("twinworld", className="brand"),
                                  html.Span("region dashboard", className="brand-sub")]),
                        html.Div(chips, className="chips")], className="topbar")


VIEWS = ("map", "replay", "explorer", "live")


def _first_view(ctx: Context) -> str:
    """The first view that has something to show (``?view=NAME`` in the address overrides it)."""
    return "explorer" if ctx.sweeps and ctx.scenario.scenario is None else "map"


def _layout(ctx: Context) -> html.Div:
    startup = [note(text, level) for level, text in ctx.messages if level in ("error", "warning")]
    default = _first_view(ctx)
    # The tab is chosen in the browser from ?view= (or the default) before any view's callback runs.
    tabs = dcc.Tabs(id="tabs", value=None, className="tabs", children=[
        dcc.Tab(label="Region map", value="map", children=mapview.layout(ctx), className="tab",
                selected_className="tab-selected"),
        dcc.Tab(label="Run replay", value="replay", children=replayview.layout(ctx), className="tab",
                selected_className="tab-selected"),
        dcc.Tab(label="Sweep explorer", value="explorer", children=explorer.layout(ctx), className="tab",
                selected_className="tab-selected"),
        dcc.Tab(label="Live", value="live", children=liveview.layout(ctx), className="tab",
                selected_className="tab-selected"),
    ])
    return html.Div([dcc.Location(id="url", refresh=False), dcc.Store(id="default-view", data=default), _header(ctx),
                     html.Div(startup, id="startup-messages", className="startup"),
                     html.Main(tabs, className="main")], className="page")


def create_app(ctx: Context) -> Dash:
    """The Dash app for ``ctx``; its Flask server enforces ``ctx.options.token`` when set."""
    app = Dash(__name__, title="twinworld dashboard", update_title=None,  # type: ignore[arg-type]  # documented: None keeps the title
               assets_folder=str(_ASSETS),
               serve_locally=True, suppress_callback_exceptions=True, compress=False)
    app.layout = _layout(ctx)
    for view in (mapview, replayview, explorer, liveview):
        view.register(app, ctx)

    app.clientside_callback(  # ``?view=explorer`` opens that view (bookmarkable)
        """function(search, fallback) {
            const wanted = new URLSearchParams(search || "").get("view");
            return VIEWS.includes(wanted) ? wanted : fallback;
        }""".replace("VIEWS", json.dumps(list(VIEWS))),
        Output("tabs", "value"), Input("url", "search"), State("default-view", "data"))
    if ctx.options.token:
        _require_token(app.server, ctx.options.token)
    return app


def _require_token(server: Any, token: str) -> None:
    """Every request must carry the token: ``?token=``, the cookie it sets, or a bearer header."""
    from flask import make_response, redirect, request

    expected = token.encode()

    def matches(value: str | None) -> bool:
        return bool(value) and value is not None and hmac.compare_digest(value.encode(), expected)

    @server.before_request
    def check() -> Any:
        header = request.headers.get("Authorization", "")
        bearer = header[7:] if header.startswith("Bearer ") else None
        if matches(request.cookies.get(TOKEN_COOKIE)) or matches(bearer):
            return None
        if matches(request.args.get("token")):
            # Trade the token in the address for a cookie, and drop it from the address bar.
            rest = {k: v for k, v in request.args.items() if k != "token"}
            response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        response = make_response("twinworld dashboard: a token is required; open the address printed "
                                 "by `twinworld dashboard` (it ends in ?token=...)\n", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="twinworld"'
        response.mimetype = "text/plain"
        return response

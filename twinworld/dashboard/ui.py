"""Small building blocks of the pages: cards, notes, plain HTML tables, and the callback guard."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from dash import dcc, html, no_update

from twinworld.dashboard.context import guarded_text

__all__ = ["card", "note", "table", "fmt", "guard", "graph", "stat"]

_LEVEL_CLASS = {"error": "note note-error", "warning": "note note-warning", "info": "note note-info",
                "ok": "note note-ok"}


def card(title: str | None, *children: Any, id: str | None = None, class_name: str = "") -> html.Div:
    head = [html.H3(title, className="card-title")] if title else []
    props = {"id": id} if id else {}
    return html.Div(head + list(children), className=f"card {class_name}".strip(), **props)


def note(text: str, level: str = "info") -> html.Div:
    return html.Div(text, className=_LEVEL_CLASS.get(level, "note"), role="status")


def stat(label: str, value: Any, *, id: str | None = None) -> html.Div:
    props = {"id": id} if id else {}
    return html.Div([html.Div(value, className="stat-value", **props), html.Div(label, className="stat-label")],
                    className="stat")


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers as planners read them: thousands separators, three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], *, id: str | None = None,
          highlight: Callable[[dict[str, Any]], bool] | None = None,
          action: Callable[[dict[str, Any]], Any] | None = None) -> html.Table:
    """A plain table: ``columns`` are ``(key, heading)``; ``action(row)`` adds a last cell."""
    head = [html.Th(h) for _, h in columns] + ([html.Th("")] if action else [])
    body = []
    for row in rows:
        cells = [html.Td(fmt(row.get(key)), className="num" if isinstance(row.get(key), (int, float)) else "")
                 for key, _ in columns]
        if action:
            cells.append(html.Td(action(row)))
        body.append(html.Tr(cells, className="highlight" if highlight and highlight(row) else ""))
    props = {"id": id} if id else {}
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="data-table", **props)


def graph(id: str, *, height: int | None = None) -> dcc.Graph:
    style = {"height": f"{height}px"} if height else {}
    return dcc.Graph(id=id, config={"displaylogo": False, "responsive": True,
                                    "modeBarButtonsToRemove": ["lasso2d", "select2d"]}, style=style)


def guard(view: str, n_outputs: int) -> Callable:
    """Turn any exception of a callback into a message in its first output (never a traceback).

    The first output of a guarded callback is the view's message area; the others keep their
    value when the callback fails.
    """
    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as err:  # the page must show the problem, not a stack trace
                text = guarded_text(err)
                print(f"twinworld dashboard ({view}): {text}", file=sys.stderr, flush=True)
                outputs = [note(text, "error")] + [no_update] * (n_outputs - 1)
                return outputs if n_outputs > 1 else outputs[0]
        return wrapper
    return decorate

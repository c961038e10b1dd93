"""A run's events as a cascade table: ``time_h, system, element, kind, cause, detail``.

The timeline takes exactly these columns. Today the recorder keeps ``(time_h, kind, detail)`` with
the system and element written into the detail text; :func:`cascade_events` reads them out. Once
the recorder carries the columns itself (declared causes), a table that already has them passes
through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["CASCADE_COLUMNS", "cascade_events", "cause_links", "from_cascade_log"]

CASCADE_COLUMNS = ["time_h", "system", "element", "kind", "cause", "detail"]
# Event kinds whose detail does not name the system, by the kind of system that records them.
_KIND_OWNER = {
    "bed_loss": "hospital_region", "beds_degraded": "hospital_region", "surge_beds_open": "hospital_region",
    "port_closed": "port", "port_reopened": "port", "cranes_degraded": "port", "vessel_diverted": "port",
    "reroute": "supply_network",
}
_PAREN = re.compile(r"\(([^()]*)\)\s*$")


def _owner(kind: str, kinds: dict[str, str]) -> str:
    wanted = _KIND_OWNER.get(kind)
    names = [name for name, k in kinds.items() if k == wanted]
    return names[0] if len(names) == 1 else ""


def _split_token(text: str, systems: dict[str, str]) -> tuple[str, str, str]:
    """``"grid.L12 storm"`` -> ``("grid", "L12", "storm")`` when the first word names a system."""
    token, _, rest = text.strip().partition(" ")
    system, dot, element = token.partition(".")
    if system in systems and (dot or not element):
        return system, element, rest.strip()
    return "", "", text.strip()


def _one(kind: str, detail: str, systems: dict[str, str]) -> dict[str, str]:
    detail = str(detail)
    if kind in ("service_lost", "buffer_spent"):  # "grid.bus.11 -> hospitals.Central"
        provider, _, consumer = detail.partition(" -> ")
        system, _, element = consumer.partition(".")
        return dict(system=system, element=element, kind=kind, cause=provider.strip())
    if kind.startswith("grid_"):
        system, element, rest = _split_token(detail, systems)
        return dict(system=system, element=element, kind=kind[5:], cause=rest)
    head, dot, tail = kind.partition(".")
    if dot and head in systems and tail in ("on", "off"):  # a road effect switching on or off
        return dict(system=head, element=detail, kind=f"effect_{tail}", cause=detail.split(":")[0])
    system, element, rest = _split_token(detail, systems)
    if system:
        return dict(system=system, element=element, kind=kind, cause=rest)
    cause = _PAREN.search(detail)
    words = detail.split()
    return dict(system=_owner(kind, systems), element=words[0] if words else "", kind=kind,
                cause=cause.group(1) if cause else "")


def from_cascade_log(log: pd.DataFrame | None) -> pd.DataFrame:
    """The run's declared cause chains (``RunResult.cascade`` / ``world.cascade``) as the timeline's
    table, keeping each event's ``id`` and its cause's (``cause_id``) so links are exact."""
    if log is None or log.empty:
        return pd.DataFrame(columns=[*CASCADE_COLUMNS, "id", "cause_id"])
    by_id = log.set_index("id")
    def label(cause: Any) -> str:
        if cause is None or (isinstance(cause, float) and cause != cause):
            return ""
        row = by_id.loc[int(cause)]
        return f"{row['system']}.{row['element']}" if row["element"] else str(row["system"])
    table = pd.DataFrame({"time_h": log["time_h"].astype(float), "system": log["system"],
                          "element": log["element"].fillna(""), "kind": log["what"],
                          "cause": [label(c) for c in log["cause"]], "detail": log["detail"],
                          "id": log["id"], "cause_id": log["cause"]})
    return table.sort_values(["time_h", "id"], kind="stable").reset_index(drop=True)


def cascade_events(raw: pd.DataFrame | None, scenario: Any) -> pd.DataFrame:
    """Normalise a run's event table to :data:`CASCADE_COLUMNS` (sorted by time)."""
    if raw is None or raw.empty:
        return pd.DataFrame(columns=CASCADE_COLUMNS)
    if set(CASCADE_COLUMNS) <= set(raw.columns):
        return raw[CASCADE_COLUMNS].sort_values("time_h", kind="stable").reset_index(drop=True)
    systems = {name: config.kind for name, config in scenario.systems.items()}
    rows = [{"time_h": float(t), **_one(str(k), d, systems), "detail": str(d)}
            for t, k, d in raw[["time_h", "kind", "detail"]].itertuples(index=False)]
    return pd.DataFrame(rows, columns=CASCADE_COLUMNS).sort_values("time_h", kind="stable").reset_index(drop=True)


def cause_links(events: pd.DataFrame) -> list[tuple[int, int]]:
    """Pairs ``(cause row, effect row)`` where an event's cause names an earlier event's element.

    A cause such as ``grid.bus.11`` matches the latest earlier event of system ``grid`` whose
    element is ``11`` or ``bus.11`` (a substation lost, a bus dark). Loose by design: the
    declared cause chains that are coming will replace it.
    """
    if "cause_id" in events.columns:   # declared chains: exact links by event id
        row_of = {int(i): row for row, i in enumerate(events["id"])}
        return [(row_of[int(c)], row) for row, c in enumerate(events["cause_id"])
                if c is not None and c == c and int(c) in row_of]
    links = []
    for effect in events.itertuples():
        cause = str(effect.cause)
        system, dot, rest = cause.partition(".")
        if not dot:
            continue
        candidates = {rest, rest.split(".")[-1]}
        earlier = events[(events.index < effect.Index) & (events["system"] == system)
                         & events["element"].astype(str).isin(candidates)]
        if len(earlier):
            links.append((int(earlier.index[-1]), int(effect.Index)))
    return links

"""Every work limit and magnitude limit of twinworld's inputs, in one place, with units.

A scenario or data file that crosses one of these gets a clear error before any work is done
(file size, YAML size and nesting) or at load time (numbers out of range, a run too large). The
limits are generous for real planning studies and exist so that a small careless or hostile input
cannot hang a command or exhaust memory. They appear in the JSON Schema (``minimum`` /
``maximum``) and in ``docs/limits.md``; the run-size limit can be lifted with ``--allow-large``
(or ``TWINWORLD_ALLOW_LARGE=1``).
"""

from __future__ import annotations

import os

__all__ = [
    "ALLOW_LARGE_ENV",
    "DATA_ROOT_ENV",
    "MAX_AIS_FILE_BYTES",
    "MAX_BEDS",
    "MAX_BERTHS",
    "MAX_CENSUS_CSV_BYTES",
    "MAX_COUPLINGS",
    "MAX_CRANES_PER_BERTH",
    "MAX_CREWS",
    "MAX_CV",
    "MAX_DATA_FILE_BYTES",
    "MAX_DESIGN_CSV_BYTES",
    "MAX_DISRUPTIONS",
    "MAX_DURATION_H",
    "MAX_GRID_CASE_BYTES",
    "MAX_GRID_SIDE_NODES",
    "MAX_HORIZON_H",
    "MAX_HOUSEHOLDS",
    "MAX_LIST_ITEMS",
    "MAX_MAGNITUDE",
    "MAX_MULTIPLIER",
    "MAX_OSM_FILE_BYTES",
    "MAX_PROBLEMS_SHOWN",
    "MAX_RANDOM_OUTAGES",
    "MAX_REPLICATIONS",
    "MAX_RUN_EVENTS",
    "MAX_SCENARIO_FILE_BYTES",
    "MAX_SEED",
    "MAX_SPEED_KMH",
    "MAX_STRATEGIES",
    "MAX_SWEEP_RUNS",
    "MAX_SWEEP_SCENARIOS",
    "MAX_VEHICLES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "MIN_STEP_H",
    "allow_large_from_env",
]

MiB = 2 ** 20

# -- scenario files (checked before any parsing work) ----------------------------------------
#: Largest scenario YAML file, bytes (10,000 hospitals take about 1.3 MB).
MAX_SCENARIO_FILE_BYTES = 8 * MiB
#: Most YAML nodes (scalars, mappings, lists) once aliases are expanded: stops "billion laughs".
MAX_YAML_NODES = 1_000_000
#: Deepest nesting of YAML mappings and lists (a real scenario nests about 6 deep).
MAX_YAML_DEPTH = 64
#: Problems listed in one error message (the rest are counted).
MAX_PROBLEMS_SHOWN = 50

# -- data files a scenario references (census, AIS, OSM, grid cases, design CSV) -------------
#: Largest data file of a kind not listed below (telemetry replays, ...), bytes.
MAX_DATA_FILE_BYTES = 1024 * MiB
#: Largest bed-census CSV, bytes.
MAX_CENSUS_CSV_BYTES = 16 * MiB
#: Largest AIS file (CSV or NMEA), bytes.
MAX_AIS_FILE_BYTES = 1024 * MiB
#: Largest OpenStreetMap file (.osm, .osm.bz2, .osm.pbf, .graphml), bytes.
MAX_OSM_FILE_BYTES = 2048 * MiB
#: Largest grid case file (MATPOWER .m/.mat, pandapower .json), bytes.
MAX_GRID_CASE_BYTES = 512 * MiB
#: Largest sweep design CSV, bytes.
MAX_DESIGN_CSV_BYTES = 256 * MiB

# -- numbers ---------------------------------------------------------------------------------
#: Largest absolute value of any number or distribution parameter without a tighter limit.
MAX_MAGNITUDE = 1e12
#: Longest simulated horizon, hours (10 years).
MAX_HORIZON_H = 10 * 365 * 24.0
#: Longest duration anywhere else (a length of stay, a start time), hours (100 years).
MAX_DURATION_H = 100 * 365 * 24.0
#: Shortest period of anything that repeats (grid load step, traffic tick, rerouting, transfer
#: review, rotation block, periodic inventory review), hours (1 second).
MIN_STEP_H = 1 / 3600
#: Most simulation events one run may be estimated to process (about 15 minutes of SimPy work at
#: ~120,000 events/s); larger runs need ``--allow-large``.
MAX_RUN_EVENTS = 100_000_000
#: Most items in any list of a scenario (hospitals, warehouses, customers, lanes, calls, ...).
MAX_LIST_ITEMS = 100_000
#: Most beds of one type at one hospital (the largest hospitals have about 10,000 in all).
MAX_BEDS = 50_000
#: Most berths in one port.
MAX_BERTHS = 1_000
#: Most quay cranes per berth.
MAX_CRANES_PER_BERTH = 50
#: Most households in one evacuation zone.
MAX_HOUSEHOLDS = 10_000_000
#: Most vehicles in one OD flow, per household, or per shelter.
MAX_VEHICLES = 10_000_000
#: Most rows or columns of a synthetic road grid.
MAX_GRID_SIDE_NODES = 500
#: Largest multiplier of a rate or load (surges, heatwaves, demand spikes, load scale).
MAX_MULTIPLIER = 1_000.0
#: Largest coefficient of variation (sd / mean) of a per-item distribution.
MAX_CV = 100.0
#: Highest speed of a road or vehicle, km/h.
MAX_SPEED_KMH = 500.0
#: Most repair crews of a grid.
MAX_CREWS = 10_000
#: Most branches or units failing at random in one disruption.
MAX_RANDOM_OUTAGES = 100_000
#: Most disruptions in one scenario.
MAX_DISRUPTIONS = 1_000
#: Most strategies in one scenario (each is run for every sample).
MAX_STRATEGIES = 1_000
#: Most couplings in one scenario.
MAX_COUPLINGS = 10_000

# -- sweeps ----------------------------------------------------------------------------------
#: Most scenario samples in one sweep.
MAX_SWEEP_SCENARIOS = 10_000_000
#: Most replications per sample and strategy.
MAX_REPLICATIONS = 100_000
#: Most runs (samples x strategies x replications) in one sweep without ``--allow-large``.
MAX_SWEEP_RUNS = 10_000_000
#: Largest scenario seed (seeds are non-negative 63-bit integers).
MAX_SEED = 2 ** 63 - 1

# -- environment -----------------------------------------------------------------------------
#: Environment variable that lifts the run-size limits (``1``, ``true`` or ``yes``).
ALLOW_LARGE_ENV = "TWINWORLD_ALLOW_LARGE"
#: Environment variable naming extra folders data files may come from (``os.pathsep``-separated).
DATA_ROOT_ENV = "TWINWORLD_DATA_ROOT"


def allow_large_from_env() -> bool:
    """True when ``TWINWORLD_ALLOW_LARGE`` is set to 1, true or yes."""
    return os.environ.get(ALLOW_LARGE_ENV, "").strip().lower() in ("1", "true", "yes")


def limits_table() -> str:
    """The limits as a Markdown table (name, value, meaning), read from this module's comments.

    ``python -m twinworld.limits`` prints it; docs/limits.md holds a copy that a test keeps equal.
    """
    import ast
    from pathlib import Path

    source = Path(__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    rows = ["| limit | value | meaning |", "|---|---|---|"]
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if not name.startswith(("MAX_", "MIN_")):
            continue
        comment, at = [], node.lineno - 2
        while at >= 0 and lines[at].startswith("#:"):
            comment.insert(0, lines[at][2:].strip())
            at -= 1
        rows.append(f"| `{name}` | {_shown(name, globals()[name])} | {' '.join(comment)} |")
    return "\n".join(rows)


def _shown(name: str, value: float) -> str:
    """A limit's value with its unit, as the docs show it."""
    if name.endswith("_BYTES"):
        return f"{value / 2 ** 30:g} GiB" if value >= 2 ** 30 else f"{value / MiB:g} MiB"
    if name == "MIN_STEP_H":
        return f"{value * 3600:g} s"
    if name.endswith("_H"):
        return f"{value:,.0f} h ({value / 8760:g} years)"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


if __name__ == "__main__":
    print(limits_table())

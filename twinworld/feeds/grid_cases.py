"""Grid cases: pandapower's bundled networks, MATPOWER ``.m``/``.mat`` files and pandapower JSON.

This is the only twinworld module that imports pandapower (tests and benchmarks aside). It turns a
network into a plain :class:`GridCase` of numpy arrays, using pandapower's own conversion to its
internal MATPOWER-style case (``_pd2ppc``, the exact model ``rundcpp`` solves), so twinworld's DC
flows agree with pandapower's: transformers' tap ratios and phase shifts, bus-bus switches fused,
static generators netted into bus loads, shunt conductance counted as load.

Element ids a scenario can name: lines ``L<index>``, transformers ``T<index>``, three-winding
transformers ``T3W<index>.<hv|mv|lv>``, impedances ``Z<index>``, other branches ``B<row>``;
buses by their pandapower index (``"12"``); generators ``G<index>``, external grids ``EG<index>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinworld.errors import FeedError, name_list
from twinworld.feeds.safe_files import check_file, describe_error
from twinworld.limits import MAX_GRID_CASE_BYTES

__all__ = ["GridCase", "BUNDLED_CASES", "CASE_FILE_SUFFIXES", "load_grid_case", "pandapower_net", "case_key",
           "grid_case_from_net", "read_matpower_m"]

#: Networks shipped inside pandapower, by the name a scenario writes.
BUNDLED_CASES: dict[str, str] = {
    **{name: name for name in (
        "case4gs", "case5", "case6ww", "case9", "case11_iwamoto", "case14", "case24_ieee_rts", "case30",
        "case_ieee30", "case33bw", "case39", "case57", "case89pegase", "case118", "case145",
        "case_illinois200", "case300", "case1354pegase", "case1888rte", "case2848rte",
        "case2869pegase", "case3120sp", "case6470rte", "case6495rte", "case6515rte",
        "case9241pegase", "GBnetwork", "GBreducednetwork", "iceland", "mv_oberrhein")},
    "cigre_hv": "create_cigre_network_hv",
    "cigre_mv": "create_cigre_network_mv",
    "cigre_lv": "create_cigre_network_lv",
}

#: Suffixes of the case files read (MATPOWER and pandapower JSON).
CASE_FILE_SUFFIXES = (".m", ".mat", ".json")
_FILE_KINDS = CASE_FILE_SUFFIXES
_BRANCH_PREFIX = {"line": "L", "trafo": "T", "impedance": "Z"}


@dataclass(frozen=True, eq=False)
class GridCase:
    """A grid as plain arrays (engine order: one row per bus / branch / generator of the case).

    Powers are MW, susceptances per unit on ``base_mva``. ``load_mw`` is the net demand per bus
    (loads minus static generators plus shunt conductance), as pandapower's DC flow sees it.
    """

    name: str
    key: str
    base_mva: float
    bus_names: tuple[str, ...]
    bus_aliases: dict[str, int]
    bus_kv: np.ndarray
    bus_xy: np.ndarray
    bus_in_service: np.ndarray
    load_mw: np.ndarray
    branch_ids: tuple[str, ...]
    from_bus: np.ndarray
    to_bus: np.ndarray
    b_pu: np.ndarray
    shift_rad: np.ndarray
    rating_mw: np.ndarray
    branch_in_service: np.ndarray
    gen_ids: tuple[str, ...]
    gen_bus: np.ndarray
    gen_p_mw: np.ndarray
    gen_pmax_mw: np.ndarray
    gen_pmin_mw: np.ndarray
    gen_in_service: np.ndarray
    slack_buses: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_bus(self) -> int:
        return len(self.bus_names)

    @property
    def n_branch(self) -> int:
        return len(self.branch_ids)

    def branch_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.branch_ids)}

    def gen_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.gen_ids)}

    def describe_ids(self, kind: str) -> str:
        """A short human description of the valid ids of ``kind`` (line, bus, generator)."""
        ids = {"line": self.branch_ids, "bus": self.bus_names, "generator": self.gen_ids}[kind]
        return name_list(list(ids), limit=40)


# ------------------------------------------------------------------------------ sources ----
@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a dependency's warnings for a moment: pandapower warns that numba is missing each
    time its options are built, though only its model builder (no power flow) runs here."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _pandapower() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandapower
            import pandapower.networks
    except ImportError as err:
        raise FeedError("grid cases are read with pandapower, which is not installed: "
                        "pip install 'twinworld[grid]'") from err
    return pandapower


def _is_file(source: str | Path) -> bool:
    return isinstance(source, Path) or str(source).lower().endswith(_FILE_KINDS)


def case_key(source: str | Path) -> str:
    """Content key of a case: pandapower's version for a bundled case, the file's hash otherwise."""
    if _is_file(source):
        path = check_file(source, max_bytes=MAX_GRID_CASE_BYTES, what="grid case file")
        return "grid:file:" + hashlib.sha256(path.read_bytes()).hexdigest()
    name = str(source)
    if name not in BUNDLED_CASES:
        raise FeedError(_unknown_case(name))
    return f"grid:pandapower:{_pandapower().__version__}:{name}"


def _unknown_case(name: str) -> str:
    return (f"unknown grid case {name!r}; bundled cases: {', '.join(BUNDLED_CASES)}; "
            f"or a file ending in {', '.join(_FILE_KINDS)}")


def pandapower_net(source: str | Path) -> Any:
    """The pandapower network of a bundled case name or a ``.m``/``.mat``/``.json`` file.

    Raises
    ------
    FeedError
        Unknown case name, missing file, or a file that does not parse (with the reason).
    """
    pp = _pandapower()
    if not _is_file(source):
        name = str(source)
        if name not in BUNDLED_CASES:
            raise FeedError(_unknown_case(name))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(pp.networks, BUNDLED_CASES[name])()
    path = check_file(source, max_bytes=MAX_GRID_CASE_BYTES, what="grid case file")
    suffix = path.suffix.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix == ".json":
                net = pp.from_json(str(path))
            else:
                from pandapower.converter.matpower.from_mpc import _change_ppc_TAP_value, from_mpc
                from pandapower.converter.pypower.from_ppc import from_ppc
                if suffix == ".mat":
                    net = from_mpc(str(path))
                else:
                    ppc = read_matpower_m(path)
                    _change_ppc_TAP_value(ppc)
                    net = from_ppc(ppc, f_hz=50)
    except FeedError:
        raise
    except Exception as err:  # pandapower and scipy raise many kinds on bad files
        raise FeedError(f"grid case file {path.name!r} could not be read as "
                        f"{'pandapower JSON' if suffix == '.json' else 'a MATPOWER case'}: "
                        f"{describe_error(err)}") from err
    if not hasattr(net, "bus") or not hasattr(net, "line"):
        raise FeedError(f"grid case file {path.name!r} holds no pandapower network")
    return net


_M_MATRIX = re.compile(r"mpc\.(\w+)\s*=\s*\[(.*?)\]\s*;", re.S)
_M_SCALAR = re.compile(r"mpc\.(\w+)\s*=\s*([-+0-9.eE]+)\s*;")


def read_matpower_m(path: str | Path) -> dict[str, Any]:
    """Parse a MATPOWER version-2 ``.m`` case (``mpc.bus``, ``mpc.gen``, ``mpc.branch``...).

    Returns a PYPOWER-style dict with 0-based bus numbers, as pandapower's ``from_ppc`` expects.

    Raises
    ------
    FeedError
        A required matrix is missing or a row does not hold numbers of equal count.
    """
    path = Path(path)
    text = "\n".join(line.split("%", 1)[0] for line in path.read_text(encoding="utf-8",
                                                                       errors="replace").splitlines())
    ppc: dict[str, Any] = {"version": "2"}
    for key, value in _M_SCALAR.findall(text):
        ppc[key] = float(value)
    for key, body in _M_MATRIX.findall(text):
        rows = [r.replace(",", " ").split() for r in re.split(r"[;\n]", body)]
        rows = [r for r in rows if r]
        try:
            widths = {len(r) for r in rows}
            if len(widths) > 1:
                raise ValueError(f"rows of {len(min(rows, key=len))} and {len(max(rows, key=len))} numbers")
            ppc[key] = np.array([[float(v) for v in r] for r in rows], dtype=float)
        except ValueError as err:
            if key in ("bus", "gen", "branch"):
                raise FeedError(f"{path.name}: mpc.{key} is not a numeric matrix ({describe_error(err)})") from None
    missing = [k for k in ("baseMVA", "bus", "gen", "branch") if k not in ppc]
    if missing:
        raise FeedError(f"{path.name}: not a MATPOWER case: missing {', '.join('mpc.' + k for k in missing)}")
    for key, cols in (("bus", 13), ("gen", 10), ("branch", 11)):
        if ppc[key].ndim != 2 or ppc[key].shape[1] < cols:
            raise FeedError(f"{path.name}: mpc.{key} needs at least {cols} columns")
    ppc["bus"][:, 0] -= 1
    ppc["branch"][:, :2] -= 1
    ppc["gen"][:, 0] -= 1
    return ppc


# ---------------------------------------------------------------------------- conversion ----
def load_grid_case(source: str | Path) -> GridCase:
    """Read a bundled case name or a case file into a :class:`GridCase`.

    Raises
    ------
    FeedError
        Unknown or unreadable case, or a grid without a slack (reference) bus.
    """
    key = case_key(source)
    name = Path(source).stem if _is_file(source) else str(source)
    return grid_case_from_net(pandapower_net(source), name=name, key=key)


def grid_case_from_net(net: Any, *, name: str, key: str) -> GridCase:
    """Convert a pandapower network to a :class:`GridCase` (the model ``rundcpp`` solves)."""
    _pandapower()
    from pandapower.auxiliary import _init_rundcpp_options
    from pandapower.powerflow import _pd2ppc
    from pandapower.pypower.idx_brch import BR_STATUS, BR_X, F_BUS, RATE_A, SHIFT, T_BUS, TAP
    from pandapower.pypower.idx_bus import BASE_KV, BUS_TYPE, GS, NONE, PD, REF
    from pandapower.pypower.idx_gen import GEN_BUS, GEN_STATUS, PG, PMAX, PMIN

    _require_slack(net, name)
    try:
        with warnings.catch_warnings(), _quiet("pandapower.auxiliary"):
            warnings.simplefilter("ignore")
            _init_rundcpp_options(net, trafo_model="t", trafo_loading="current", recycle=None,
                                  check_connectivity=True, switch_rx_ratio=2, trafo3w_losses="hv")
            ppc, _ = _pd2ppc(net)
    except Exception as err:
        raise FeedError(f"grid {name!r} could not be converted for a DC flow: "
                        f"{describe_error(err)}") from err
    bus, branch, gen = ppc["bus"], ppc["branch"], ppc["gen"]
    base_mva = float(ppc["baseMVA"])
    lookups = net._pd2ppc_lookups
    bus_names, aliases = _bus_names(net, lookups["bus"], len(bus))
    gen_ids, gen_pmax = _gen_ids(net, lookups, gen)
    slack = np.flatnonzero(bus[:, BUS_TYPE] == REF)
    if slack.size == 0:
        raise FeedError(f"grid {name!r} has no slack bus: add an external grid (ext_grid) or a generator "
                        "with slack=True (MATPOWER: a bus of type 3)")
    x = branch[:, BR_X].real
    tap = branch[:, TAP].real.copy()
    tap[tap == 0] = 1.0
    status = branch[:, BR_STATUS].real > 0
    bad = status & (x == 0)
    if bad.any():
        raise FeedError(f"grid {name!r}: branch rows {np.flatnonzero(bad)[:10].tolist()} have zero reactance")
    with np.errstate(divide="ignore"):
        b_pu = np.where(x != 0, 1.0 / (x * tap), 0.0)
    rating = branch[:, RATE_A].real.copy()
    rating[(rating <= 0) | (rating >= 9900)] = np.inf   # MATPOWER: 0 = unlimited; pandapower: 9900
    return GridCase(
        name=name, key=key, base_mva=base_mva, bus_names=bus_names, bus_aliases=aliases,
        bus_kv=bus[:, BASE_KV].real.copy(), bus_xy=_bus_xy(net, lookups["bus"], len(bus)),
        bus_in_service=bus[:, BUS_TYPE] != NONE,
        load_mw=(bus[:, PD].real + bus[:, GS].real).copy(),
        branch_ids=_branch_ids(lookups["branch"], len(branch)),
        from_bus=branch[:, F_BUS].real.astype(np.int64), to_bus=branch[:, T_BUS].real.astype(np.int64),
        b_pu=b_pu, shift_rad=np.deg2rad(branch[:, SHIFT].real), rating_mw=rating,
        branch_in_service=status,
        gen_ids=gen_ids, gen_bus=gen[:, GEN_BUS].real.astype(np.int64), gen_p_mw=gen[:, PG].real.copy(),
        gen_pmax_mw=np.where(np.isfinite(gen_pmax), gen_pmax, gen[:, PMAX].real),
        gen_pmin_mw=np.maximum(gen[:, PMIN].real, 0.0), gen_in_service=gen[:, GEN_STATUS].real > 0,
        slack_buses=slack)


def _require_slack(net: Any, name: str) -> None:
    ext = net.ext_grid.in_service.values.astype(bool).any() if len(net.ext_grid) else False
    gen_slack = (len(net.gen) and "slack" in net.gen
                 and (net.gen.slack.values.astype(bool) & net.gen.in_service.values.astype(bool)).any())
    if not (ext or gen_slack):
        raise FeedError(f"grid {name!r} has no slack bus: add an external grid (ext_grid) or a generator "
                        "with slack=True (MATPOWER: a bus of type 3)")


def _bus_names(net: Any, lookup: np.ndarray, n_bus: int) -> tuple[tuple[str, ...], dict[str, int]]:
    names = [f"aux{i}" for i in range(n_bus)]
    aliases: dict[str, int] = {}
    for pp_index in sorted(net.bus.index, reverse=True):
        row = int(lookup[pp_index]) if pp_index < len(lookup) else -1
        if 0 <= row < n_bus:
            names[row] = str(pp_index)
            aliases[str(pp_index)] = row
    return tuple(names), aliases


def _bus_xy(net: Any, lookup: np.ndarray, n_bus: int) -> np.ndarray:
    xy = np.full((n_bus, 2), np.nan)
    if "geo" not in net.bus:
        return xy
    for pp_index, geo in net.bus["geo"].items():
        if not isinstance(geo, str) or pp_index >= len(lookup):
            continue
        try:
            coords = json.loads(geo).get("coordinates")
        except (ValueError, AttributeError):
            continue
        row = int(lookup[pp_index])
        if 0 <= row < n_bus and isinstance(coords, list) and len(coords) == 2:
            xy[row] = coords
    return xy


def _branch_ids(ranges: dict[str, tuple[int, int]], n_branch: int) -> tuple[str, ...]:
    ids = [f"B{i}" for i in range(n_branch)]
    for element, (start, end) in ranges.items():
        if element in _BRANCH_PREFIX:
            for j, row in enumerate(range(start, end)):
                ids[row] = f"{_BRANCH_PREFIX[element]}{j}"
        elif element == "trafo3w":
            count = (end - start) // 3
            for j, row in enumerate(range(start, end)):
                ids[row] = f"T3W{j % count}.{('hv', 'mv', 'lv')[j // count]}"
    return tuple(ids)


def _gen_ids(net: Any, lookups: dict[str, Any], gen: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    ids = [f"gen{i}" for i in range(len(gen))]
    pmax = np.full(len(gen), np.nan)
    for element, prefix in (("ext_grid", "EG"), ("gen", "G")):
        lookup = lookups.get(element)
        table = net[element]
        if lookup is None:
            continue
        for pp_index in table.index[table.in_service.values.astype(bool)]:
            if pp_index >= len(lookup) or not 0 <= int(lookup[pp_index]) < len(gen):
                continue
            row = int(lookup[pp_index])
            ids[row] = f"{prefix}{pp_index}"
            limit = table.at[pp_index, "max_p_mw"] if "max_p_mw" in table else np.nan
            if element == "ext_grid" and limit is not None and np.isfinite(float(limit)):
                pmax[row] = float(limit)
    return tuple(ids), pmax

"""DC power flow with PTDF and LODF matrices, built once per case and reused by every run.

The static part (:class:`GridEngine`) holds the base topology's incidence, susceptances, the PTDF
matrix (flow on each branch per MW injected at each bus, withdrawn at the island's reference) and
the branch transfer matrix ``H = PTDF @ A.T`` (flow on each branch per MW moved across the ends of
each branch), from which the LODF follow: ``LODF[:, k] = H[:, k] / (1 - H[k, k])``.

Per run, outages are handled by compensation, never by rebuilding the matrices: for an outage set
``K`` the fictitious transfers ``z`` solve ``(I - H[K, K]) z = f0[K]`` and the post-outage flows are
``f0 + H[:, K] z`` (for one outage that is exactly ``f0 + LODF[:, k] f0[k]``). The small operator
``H[:, K] (I - H[K, K])^-1`` is cached per outage set (:meth:`GridEngine.topology`), so load steps on
an unchanged topology cost one PTDF product. When the outages split the grid into islands (that
system is singular) or ``K`` is large, each island is solved on its own B matrix instead; island
factors are cached by the island's buses and branches, so a trip re-factorises only the island it
happens in, and islands without injections (dead) are not solved. Injections must balance within
every island (see :mod:`twinworld.systems.grid.balance`). :meth:`GridEngine.resolve_flows`
re-solves each island from scratch and is the oracle the tests compare both paths against.

Units: injections and flows are MW at the API; per unit internally on the case's ``base_mva``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lu_factor, lu_solve
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from twinworld.core.cache import static
from twinworld.feeds.grid_cases import GridCase, case_key, load_grid_case

__all__ = ["GridEngine", "Islands", "Topology", "IslandFactor", "cached_engine", "cached_case"]

#: Above this many buses the PTDF/H matrices are not stored dense; columns come from sparse LU.
DENSE_LIMIT = 4000
#: Outage sets larger than this (or that split the grid) are solved by one sparse LU of the
#: outaged grid instead of LODF compensation, which would need a dense K x K (pseudo-)inverse.
COMPENSATION_LIMIT = 24
#: Outaged grids up to this many buses are factorised densely.
DENSE_LU_LIMIT = 400
_BRIDGE_TOL = 1e-9


@dataclass(frozen=True)
class Islands:
    """Connected components of the in-service grid."""

    count: int
    labels: np.ndarray

    def members(self, island: int) -> np.ndarray:
        return np.flatnonzero(self.labels == island)


class _DenseLU:
    """``splu``'s ``solve`` for a small dense matrix (LAPACK LU, factorised once)."""

    def __init__(self, matrix: np.ndarray) -> None:
        self._factor = lu_factor(matrix, check_finite=False)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        return lu_solve(self._factor, rhs, check_finite=False)


@dataclass(frozen=True, eq=False)
class Topology:
    """What the engine precomputes for one outage set: islands and the compensation operator."""

    islands: Islands
    outaged: np.ndarray
    pfinj: np.ndarray
    pbusinj: np.ndarray
    h_k: np.ndarray | None = None
    solver: np.ndarray | None = None
    factors: tuple["IslandFactor", ...] | None = None
    b_on: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class IslandFactor:
    """LU of one island's B matrix without its reference bus (its first member)."""

    members: np.ndarray
    lu: object

    @property
    def rest(self) -> np.ndarray:
        return self.members[1:]


class GridEngine:
    """The static DC model of one grid case.

    Parameters
    ----------
    case
        The grid (from :func:`twinworld.feeds.grid_cases.load_grid_case`).
    dense_limit
        Store PTDF and H densely up to this many buses (else solve by sparse LU on demand).
    """

    def __init__(self, case: GridCase, *, dense_limit: int = DENSE_LIMIT) -> None:
        self.case = case
        self.n_bus, self.n_branch = case.n_bus, case.n_branch
        self.f, self.t = case.from_bus, case.to_bus
        self.b = case.b_pu
        self.base_mva = case.base_mva
        self.base_in = (case.branch_in_service & case.bus_in_service[self.f]
                        & case.bus_in_service[self.t])
        self._incidence = sp.csr_matrix(
            (np.r_[np.ones(self.n_branch), -np.ones(self.n_branch)],
             (np.r_[np.arange(self.n_branch), np.arange(self.n_branch)], np.r_[self.f, self.t])),
            shape=(self.n_branch, self.n_bus))
        self._island_cache: OrderedDict[bytes, Islands] = OrderedDict()
        self._topology_cache: OrderedDict[bytes, Topology] = OrderedDict()
        self._island_factors: OrderedDict[bytes, IslandFactor] = OrderedDict()
        self._cache_size = 1024 if self.n_branch <= 1000 else 64
        self._adjacency()
        self.base_islands = self.islands(np.zeros(self.n_branch, dtype=bool))
        self.refs = self._reference_buses(self.base_islands)
        self._keep = np.setdiff1d(np.arange(self.n_bus), self.refs)
        b_in = np.where(self.base_in, self.b, 0.0)
        bbus = (self._incidence.T @ sp.diags(b_in) @ self._incidence).tocsc()
        self._lu = splu(bbus[self._keep][:, self._keep].tocsc())
        self.dense = self.n_bus <= dense_limit
        self._columns: dict[int, np.ndarray] = {}
        self._lodf: np.ndarray | None = None
        self._lodf_filled: np.ndarray | None = None
        self._ptdf_t: np.ndarray | None = None
        self._bridge_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.ptdf: np.ndarray | None = None
        self.h: np.ndarray | None = None
        if self.dense:
            x = np.zeros((self.n_bus, self.n_bus))
            # a dense LAPACK inverse is far faster than SuperLU with an identity right-hand side
            x[np.ix_(self._keep, self._keep)] = np.linalg.inv(bbus[self._keep][:, self._keep].toarray())
            self.ptdf = b_in[:, None] * (x[self.f] - x[self.t])
            self.h = self.ptdf[:, self.f] - self.ptdf[:, self.t]
        h_diag = self._h_diagonal()
        self.bridges = self.base_in & (np.abs(1.0 - h_diag) < _BRIDGE_TOL)

    # ------------------------------------------------------------------------ topology ----
    def _reference_buses(self, islands: Islands) -> np.ndarray:
        """One reference bus per base island: its slack, else its largest generator's bus."""
        case = self.case
        refs = []
        for island in range(islands.count):
            members = islands.members(island)
            slack = np.intersect1d(case.slack_buses, members)
            if slack.size:
                refs.append(int(slack[0]))
                continue
            gens = np.flatnonzero(np.isin(case.gen_bus, members))
            refs.append(int(case.gen_bus[gens[np.argmax(case.gen_pmax_mw[gens])]]) if gens.size
                        else int(members[0]))
        return np.array(refs, dtype=np.int64)

    def in_service(self, out: np.ndarray) -> np.ndarray:
        """Branches in service given the outage mask ``out``."""
        return self.base_in & ~out

    def _adjacency(self) -> None:
        rows = np.r_[self.f, self.t]
        order = np.argsort(rows, kind="stable")
        self._adj_rows = rows[order]
        self._adj_cols = np.r_[self.t, self.f][order].astype(np.int32)
        self._adj_branch = np.r_[np.arange(self.n_branch), np.arange(self.n_branch)][order]

    def islands(self, out: np.ndarray) -> Islands:
        """Connected components after the outages ``out`` (cached by outage set)."""
        key = np.packbits(out).tobytes()
        found = self._island_cache.get(key)
        if found is None:
            keep = (self.base_in & ~out)[self._adj_branch]
            indptr = np.zeros(self.n_bus + 1, dtype=np.int32)
            np.cumsum(np.bincount(self._adj_rows[keep], minlength=self.n_bus), out=indptr[1:])
            graph = sp.csr_matrix((np.ones(int(keep.sum())), self._adj_cols[keep], indptr),
                                  shape=(self.n_bus, self.n_bus))
            count, labels = connected_components(graph, directed=False)
            found = Islands(int(count), labels)
            self._remember(self._island_cache, key, found)
        return found

    def _remember(self, cache: OrderedDict, key: bytes, value: object) -> None:
        cache[key] = value
        if len(cache) > self._cache_size:
            cache.popitem(last=False)

    def topology(self, out: np.ndarray) -> Topology:
        """Islands and the LODF compensation operator of an outage set (cached by outage set)."""
        out = out & self.base_in
        key = np.packbits(out).tobytes()
        found = self._topology_cache.get(key)
        if found is not None:
            self._topology_cache.move_to_end(key)
            return found
        islands = self.islands(out)
        outaged = np.flatnonzero(out)
        pfinj, pbusinj = self.shift_injection(out)
        if islands.count == self.base_islands.count and outaged.size <= COMPENSATION_LIMIT:
            h_k = self.h_columns(outaged)
            solver = np.linalg.inv(np.eye(outaged.size) - h_k[outaged])
            found = Topology(islands, outaged, pfinj, pbusinj, h_k=h_k, solver=solver)
        else:
            factors, b_on = self._factor(out, islands)
            found = Topology(islands, outaged, pfinj, pbusinj, factors=factors, b_on=b_on)
        self._remember(self._topology_cache, key, found)
        return found

    def _factor(self, out: np.ndarray, islands: Islands) -> tuple[tuple[IslandFactor, ...], np.ndarray]:
        """LU factors of every island of the outaged grid, reusing those of unchanged islands.

        An island is identified by its buses and its in-service branches; its factor is cached
        on the engine, so a trip inside one island re-factorises that island only.
        """
        on = self.base_in & ~out
        b_on = np.where(on, self.b, 0.0)
        labels = islands.labels
        by_bus = np.argsort(labels, kind="stable")
        bus_starts = np.searchsorted(labels[by_bus], np.arange(islands.count + 1))
        live = np.flatnonzero(on)
        live = live[np.argsort(labels[self.f[live]], kind="stable")]
        branch_starts = np.searchsorted(labels[self.f[live]], np.arange(islands.count + 1))
        factors = []
        for island in np.flatnonzero(np.diff(bus_starts) >= 2):
            members = by_bus[bus_starts[island]:bus_starts[island + 1]]
            branches = live[branch_starts[island]:branch_starts[island + 1]]
            key = members.tobytes() + b"|" + branches.tobytes()
            factor = self._island_factors.get(key)
            if factor is None:
                factor = IslandFactor(members, self._island_lu(members, branches))
                self._remember(self._island_factors, key, factor)
            factors.append(factor)
        return tuple(factors), b_on

    def _island_lu(self, members: np.ndarray, branches: np.ndarray) -> object:
        """Factor the B matrix of one island (``branches`` in service) without ``members[0]``."""
        size = members.size - 1
        pos = np.full(self.n_bus, -1)
        pos[members[1:]] = np.arange(size)
        f, t, b = self.f[branches], self.t[branches], self.b[branches]
        pf, pt = pos[f], pos[t]
        diag = np.bincount(f, weights=b, minlength=self.n_bus) + np.bincount(t, weights=b, minlength=self.n_bus)
        both = (pf >= 0) & (pt >= 0)
        index = np.arange(size)
        rows = np.concatenate((index, pf[both], pt[both]))
        cols = np.concatenate((index, pt[both], pf[both]))
        data = np.concatenate((diag[members[1:]], -b[both], -b[both]))
        if size <= DENSE_LU_LIMIT:     # small islands: a dense LU beats sparse set-up costs
            dense = np.zeros((size, size))
            np.add.at(dense, (rows, cols), data)
            return _DenseLU(dense)
        return splu(sp.csc_matrix((data, (rows, cols)), shape=(size, size)))

    def _h_diagonal(self) -> np.ndarray:
        """``H[k, k]`` for every branch; 1 exactly for bridges.

        Without dense matrices, bridges come from the graph (networkx) instead of one sparse solve
        per branch, and the diagonal is filled with 1 for them and 0 otherwise (only bridges use it).
        """
        if self.h is not None:
            return np.diag(self.h).copy()
        import networkx as nx

        graph = nx.MultiGraph()
        graph.add_nodes_from(range(self.n_bus))
        on = np.flatnonzero(self.base_in)
        graph.add_edges_from((int(self.f[k]), int(self.t[k]), int(k)) for k in on)
        diag = np.zeros(self.n_branch)
        for u, v in nx.bridges(graph):
            k = [key for key in graph[u][v]]
            diag[k] = 1.0
        return diag

    def h_columns(self, branches: np.ndarray) -> np.ndarray:
        """``H[:, branches]``: flows per unit transfer across each listed branch's ends."""
        if self.h is not None:
            return self.h[:, branches]
        out = np.empty((self.n_branch, len(branches)))
        for j, k in enumerate(branches):
            col = self._columns.get(int(k))
            if col is None:
                col = self._transfer_flows(int(k))
                if len(self._columns) < 20000:
                    self._columns[int(k)] = col
            out[:, j] = col
        return out

    def _transfer_flows(self, k: int) -> np.ndarray:
        rhs = np.zeros(self.n_bus)
        rhs[self.f[k]] += 1.0
        rhs[self.t[k]] -= 1.0
        return self._angle_flows(rhs)

    def _angle_flows(self, p_pu: np.ndarray) -> np.ndarray:
        theta = np.zeros(self.n_bus)
        theta[self._keep] = self._lu.solve(p_pu[self._keep])
        return np.where(self.base_in, self.b, 0.0) * (theta[self.f] - theta[self.t])

    def lodf(self) -> np.ndarray:
        """Line outage distribution factors (``nan`` columns for bridges, whose outage islands).

        Built on first use and kept (read-only) with the engine.
        """
        if self._lodf is None:
            self._lodf = self._build_lodf()
            self._lodf.setflags(write=False)
        return self._lodf

    def _build_lodf(self) -> np.ndarray:
        h = self.h if self.h is not None else self.h_columns(np.arange(self.n_branch))
        denom = 1.0 - np.diag(h)
        with np.errstate(divide="ignore", invalid="ignore"):
            lodf = h / np.where(self.bridges | ~self.base_in, np.nan, denom)[None, :]
        np.fill_diagonal(lodf, -1.0)
        return lodf

    # -------------------------------------------------------------------------- flows ----
    def shift_injection(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Phase-shifter flows and their bus injections (p.u.) for the branches in service."""
        on = self.base_in & ~out
        pfinj = np.where(on, -self.b * self.case.shift_rad, 0.0)
        if not pfinj.any():
            return pfinj, np.zeros(self.n_bus)
        return pfinj, self._incidence.T @ pfinj

    def base_flows(self, p_mw: np.ndarray) -> np.ndarray:
        """Flows (MW) of the base topology for bus injections ``p_mw`` (balanced per base island)."""
        pfinj, pbusinj = self.shift_injection(np.zeros(self.n_branch, dtype=bool))
        p_pu = p_mw / self.base_mva - pbusinj
        g = self.ptdf @ p_pu if self.ptdf is not None else self._angle_flows(p_pu)
        return (g + pfinj) * self.base_mva

    def flows(self, p_mw: np.ndarray, out: np.ndarray, *, islands: Islands | None = None) -> np.ndarray:
        """Branch flows (MW, from-end) after the outages ``out`` by LODF compensation.

        ``p_mw`` (generation minus load per bus) must balance within every island of the outaged
        grid; :func:`twinworld.systems.grid.balance.dispatch` makes it so. ``islands`` is accepted
        for symmetry with callers that already have them (the topology cache holds its own).
        """
        topo = self.topology(out)
        p_pu = p_mw / self.base_mva - topo.pbusinj
        if topo.factors is not None:
            theta = np.zeros(self.n_bus)
            for factor in topo.factors:
                if p_pu[factor.members].any():      # a dead island carries nothing
                    theta[factor.rest] = factor.lu.solve(p_pu[factor.rest])
            g = topo.b_on * (theta[self.f] - theta[self.t])
            return (g + topo.pfinj) * self.base_mva
        g = self.ptdf @ p_pu if self.ptdf is not None else self._angle_flows(p_pu)
        if topo.outaged.size:
            g = g + topo.h_k @ (topo.solver @ g[topo.outaged])
            g[topo.outaged] = 0.0
        g[~self.base_in] = 0.0
        return (g + topo.pfinj) * self.base_mva

    def sensitivities(self, buses: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Flow change (MW per MW) on every branch for an injection at each of ``buses``, after ``out``.

        Columns are taken against each island's reference bus, so they are exact for transfers that
        balance within an island (what redispatch moves).
        """
        topo = self.topology(out)
        if topo.factors is not None:
            rhs = np.zeros((self.n_bus, len(buses)))
            rhs[buses, np.arange(len(buses))] = 1.0
            theta = np.zeros((self.n_bus, len(buses)))
            for factor in topo.factors:
                theta[factor.rest] = factor.lu.solve(rhs[factor.rest])
            return topo.b_on[:, None] * (theta[self.f] - theta[self.t])
        if self.ptdf is not None:
            sens = self.ptdf[:, buses].copy()
        else:
            sens = np.column_stack([self._angle_flows(np.eye(self.n_bus)[b]) for b in buses])
        if topo.outaged.size:
            sens = sens + topo.h_k @ (topo.solver @ sens[topo.outaged])
            sens[topo.outaged] = 0.0
        sens[~self.base_in] = 0.0
        return sens

    def sensitivity_rows(self, rows: np.ndarray, buses: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of :meth:`sensitivities`: flow change on those branches per MW at each bus.

        B is symmetric, so a branch's row is one solve with the transfer across its ends as the
        right-hand side: a few rows cost a few sparse solves, however many buses are asked for.
        """
        rows = np.asarray(rows, dtype=np.int64)
        buses = np.asarray(buses, dtype=np.int64)
        topo = self.topology(out)
        if topo.factors is None:
            need = np.union1d(rows, topo.outaged)
            base = self._ptdf_rows(need, buses)
            sens = base[np.searchsorted(need, rows)]
            if topo.outaged.size:
                sens = sens + topo.h_k[rows] @ (topo.solver @ base[np.searchsorted(need, topo.outaged)])
                sens[np.isin(rows, topo.outaged)] = 0.0
            sens[~self.base_in[rows]] = 0.0
            return sens
        sens = np.zeros((rows.size, buses.size))
        labels = topo.islands.labels
        for factor in topo.factors:
            mine = np.flatnonzero(labels[self.f[rows]] == labels[factor.members[0]])
            if mine.size:
                sens[mine] = self._island_rows(factor, rows[mine], buses, topo.b_on)
        return sens

    def _island_rows(self, factor: IslandFactor, rows: np.ndarray, buses: np.ndarray,
                     b_on: np.ndarray) -> np.ndarray:
        """Sensitivity rows of branches inside one island (zero for buses outside it)."""
        pos = np.full(self.n_bus, -1)
        pos[factor.rest] = np.arange(factor.rest.size)
        rhs = np.zeros((factor.rest.size, rows.size))
        for end, sign in ((self.f[rows], 1.0), (self.t[rows], -1.0)):
            at = pos[end]
            ok = at >= 0               # the island's reference bus has angle 0: no term
            rhs[at[ok], np.flatnonzero(ok)] += sign
        x = np.asarray(factor.lu.solve(rhs)).reshape(factor.rest.size, rows.size)
        out = np.zeros((rows.size, buses.size))
        at = pos[buses]
        ok = at >= 0
        out[:, ok] = b_on[rows][:, None] * x[at[ok]].T
        return out

    def _ptdf_rows(self, rows: np.ndarray, buses: np.ndarray) -> np.ndarray:
        """Rows of the base topology's PTDF for ``buses`` (from the dense matrix or by LU solves)."""
        if self.ptdf is not None:
            return self.ptdf[np.ix_(rows, buses)]
        rhs = np.zeros((self.n_bus, rows.size))
        rhs[self.f[rows], np.arange(rows.size)] += 1.0
        rhs[self.t[rows], np.arange(rows.size)] -= 1.0
        x = np.zeros((self.n_bus, rows.size))
        x[self._keep] = np.asarray(self._lu.solve(rhs[self._keep])).reshape(self._keep.size, rows.size)
        b_in = np.where(self.base_in, self.b, 0.0)
        return b_in[rows][:, None] * x[buses].T

    def n_minus_1(self, p_mw: np.ndarray) -> np.ndarray:
        """Post-contingency flows (MW) of every single branch outage: column ``k`` is outage ``k``.

        Non-islanding outages use the LODF matrix in one vectorised step. A bridge (whose outage
        cuts part of the grid off) carries no flow once the cut-off part is dropped as pandapower
        does (no slack there: de-energised, its injections taken by the slack), so its column is
        the base topology's PTDF applied to those injections, again one matrix product for all.
        Outages of phase shifters, and bridges cutting off one, are solved one by one.
        """
        none = np.zeros(self.n_branch, dtype=bool)
        pfinj, pbusinj = self.shift_injection(none)
        p_pu = p_mw / self.base_mva - pbusinj
        g = self.ptdf @ p_pu if self.ptdf is not None else self._angle_flows(p_pu)
        if self._lodf_filled is None:       # outage-major copies: row k = what outage k does
            self._lodf_filled = np.ascontiguousarray(np.nan_to_num(self.lodf(), nan=0.0).T)
        post_t = self._lodf_filled * g[:, None]
        post_t += (g + pfinj)[None, :]
        np.fill_diagonal(post_t, 0.0)
        post_t *= self.base_mva
        post_t[~self.base_in, :] = np.nan
        post = post_t.T
        bridges, dead, slack = self._bridge_sides()
        simple = (pfinj[bridges] == 0) & (slack >= 0)
        if pfinj.any():
            shifted = np.flatnonzero(pfinj != 0)
            simple &= ~(dead[self.f[shifted]].any(axis=0) | dead[self.t[shifted]].any(axis=0))
        cols = bridges[simple]
        if cols.size:
            post_t[cols, :] = self._bridge_rows(p_mw, g + pfinj, dead[:, simple], slack[simple], cols)
        special = np.r_[bridges[~simple], np.flatnonzero((pfinj != 0) & ~self.bridges)]
        for k in special:
            out = none.copy()
            out[k] = True
            post[:, k] = self.flows(self.slack_balanced(p_mw, out), out)
        return post

    def _bridge_rows(self, p_mw: np.ndarray, base_pu: np.ndarray, dead: np.ndarray,
                     slack: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flows (MW, one row per bridge outage): base flows plus the PTDF of the dropped injections."""
        rows, which = np.nonzero(dead)
        change = sp.csr_matrix(
            (np.concatenate((-p_mw[rows], dead.T @ p_mw)),
             (np.concatenate((which, np.arange(cols.size))), np.concatenate((rows, slack)))),
            shape=(cols.size, self.n_bus)) / self.base_mva
        if self.ptdf is not None:
            if self._ptdf_t is None:
                self._ptdf_t = np.ascontiguousarray(self.ptdf.T)
            delta = change @ self._ptdf_t
        else:
            delta = np.vstack([self._angle_flows(change[j].toarray().ravel()) for j in range(cols.size)])
        flows = (np.asarray(delta) + base_pu[None, :]) * self.base_mva
        flows[np.arange(cols.size), cols] = 0.0
        return flows

    def _bridge_sides(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bridges, the buses each cuts off from its island's slack, and that slack (-1: none).

        With a dense PTDF this is one comparison: all of an injection beyond a bridge must cross
        it to reach the slack, so the cut-off buses are those with ``|PTDF[bridge, bus]| = 1``
        (and 0 on the slack's side).
        """
        if self._bridge_cache is None:
            bridges = np.flatnonzero(self.bridges)
            base = self.base_islands.labels
            slack = np.full(bridges.size, -1)
            for island in range(self.base_islands.count):
                slacks = self.case.slack_buses[base[self.case.slack_buses] == island]
                if slacks.size and self.refs[island] == slacks[0]:
                    slack[base[self.f[bridges]] == island] = slacks[0]
            if self.ptdf is not None:
                dead = (np.abs(self.ptdf[bridges]) > 0.5).T & (slack >= 0)[None, :]
            else:
                dead = np.zeros((self.n_bus, bridges.size), dtype=bool)
                for j, k in enumerate(bridges):
                    if slack[j] >= 0:
                        out = np.zeros(self.n_branch, dtype=bool)
                        out[k] = True
                        labels = self.islands(out).labels
                        dead[:, j] = (base == base[self.f[k]]) & (labels != labels[slack[j]])
            self._bridge_cache = (bridges, dead, slack)
        return self._bridge_cache

    def slack_balanced(self, p_mw: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``p_mw`` with each island's mismatch taken by its slack bus; islands without one dark.

        This is pandapower's ``rundcpp`` convention, used for validation and N-1 screening.
        """
        islands = self.islands(out & self.base_in)
        p = p_mw.copy()
        sums = np.bincount(islands.labels, weights=p, minlength=islands.count)
        slack_of = np.full(islands.count, -1)
        slack_of[islands.labels[self.case.slack_buses[::-1]]] = self.case.slack_buses[::-1]
        dead = slack_of[islands.labels] < 0
        p[dead] = 0.0
        live = slack_of >= 0
        np.subtract.at(p, slack_of[live], sums[live])
        return p

    def resolve_flows(self, p_mw: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Flows (MW) by re-solving every island from scratch (the oracle for :meth:`flows`)."""
        out = out & self.base_in
        on = self.base_in & ~out
        islands = self.islands(out)
        pfinj, pbusinj = self.shift_injection(out)
        p_pu = p_mw / self.base_mva - pbusinj
        b_on = np.where(on, self.b, 0.0)
        bbus = (self._incidence.T @ sp.diags(b_on) @ self._incidence).tocsc()
        theta = np.zeros(self.n_bus)
        for island in range(islands.count):
            members = islands.members(island)
            if members.size < 2:
                continue
            rest = members[1:]
            theta[rest] = splu(bbus[rest][:, rest].tocsc()).solve(p_pu[rest])
        return (b_on * (theta[self.f] - theta[self.t]) + pfinj) * self.base_mva


def cached_case(source: str | Path, key: str | None = None) -> GridCase:
    """The grid case of ``source``, read once per worker process (keyed by its content).

    ``key`` is the content key when already known (a scenario's ``source.digest``), which spares
    hashing the file on every run.
    """
    key = key or case_key(source)
    return static(key, lambda: load_grid_case(source))


def cached_engine(source: str | Path, key: str | None = None) -> GridEngine:
    """The engine of a case, built once per worker process and keyed by the case's content."""
    key = key or case_key(source)
    return static(f"{key}:engine", lambda: GridEngine(cached_case(source, key)))

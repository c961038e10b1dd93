"""Corrective redispatch: the least generation shift that brings overloaded branches under limit.

A linear program (HiGHS through scipy) over each unit's increase and decrease: branch flows are
linear in them through the post-outage sensitivities, each island stays balanced (equality
constraints), and every loaded branch (above half its limit) stays under its limit (overloaded
ones under ``target_loading`` of it). Exact for the DC model, not an approximation.

Moving one MW costs 1 on every unit, plus a tie-breaker of at most 0.1 % in a fixed order of the
units (:data:`TIE_BREAK`): where several shifts are equally short (units at one bus, or with equal
sensitivities) the optimum is then unique, so it does not depend on which rows the program holds
or on the solver's path, and runs are reproducible whatever the method.

On a large grid most of those branch constraints never bind. The default method therefore solves
by constraint generation: it starts from the overloaded branches only, solves, checks the flows
of the resulting dispatch on every watched branch (one DC power flow), adds the branches that
went over their limit and solves again, until none does. The last program's optimum satisfies
every constraint of the full program, so it is the full program's optimum too; only the rows it
needs are built, each by one sparse solve (:meth:`GridEngine.sensitivity_rows`), instead of the
dense branches x units sensitivity matrix. ``method="dense"`` keeps the full program in one
piece, for comparison (tests and ``benchmarks/grid_redispatch.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.optimize import linprog

from twinworld.systems.grid.balance import Dispatch, Fleet
from twinworld.systems.grid.engine import GridEngine, Islands

__all__ = ["relieve_overloads"]

#: A watched branch counts as over its limit in the check above this many MW (HiGHS's feasibility
#: tolerance is 1e-7 on the scaled problem).
_CHECK_TOL_MW = 1e-6
#: Constraint-generation rounds before giving up on convergence (each adds every violated branch).
_MAX_ROUNDS = 50
#: Largest relative surcharge of the tie-breaking order of units.
TIE_BREAK = 1e-3


def _unit_costs(units: np.ndarray) -> np.ndarray:
    """1 per MW plus a surcharge below ``TIE_BREAK`` in a fixed pseudo-random order of the units."""
    order = (units.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return 1.0 + TIE_BREAK * order.astype(float) / 2**32


@dataclass(frozen=True)
class _Program:
    """The parts of the redispatch program that do not depend on which branch rows are in it."""

    units: np.ndarray
    watched: np.ndarray
    flow_w: np.ndarray
    cap_w: np.ndarray
    a_eq: np.ndarray
    bounds: list[tuple[float, float | None]]


def _program(engine: GridEngine, state: Dispatch, fleet: Fleet, flows: np.ndarray,
             limits: np.ndarray, out: np.ndarray, islands: Islands,
             target_loading: float) -> _Program | None:
    on = engine.base_in & ~out
    over = on & (np.abs(flows) > limits + 1e-6)
    if not over.any():
        return None
    units = np.flatnonzero(fleet.on & (fleet.pmax_mw > 0))
    if units.size < 2:
        return None
    watched = np.flatnonzero(on & (np.abs(flows) > 0.5 * limits))
    cap = np.where(over[watched], target_loading, 1.0) * limits[watched]
    unit_island = islands.labels[fleet.bus[units]]
    groups = np.unique(unit_island)
    a_eq = np.array([np.r_[(unit_island == g), -1.0 * (unit_island == g)] for g in groups], dtype=float)
    gen = state.gen_mw[units]
    up = np.maximum(fleet.pmax_mw[units] - gen, 0.0)
    down = np.where(fleet.can_absorb[units], np.inf, np.maximum(gen, 0.0))
    bounds = [(0.0, float(u)) for u in up] + [(0.0, None if np.isinf(d) else float(d)) for d in down]
    return _Program(units, watched, flows[watched], cap, a_eq, bounds)


def _solve(program: _Program, sens: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """Unit shifts (MW) minimising the total shift with branch rows ``rows`` (of ``watched``)."""
    n = program.units.size
    a_ub = np.vstack([np.hstack([sens, -sens]), np.hstack([-sens, sens])])
    cap, flow = program.cap_w[rows], program.flow_w[rows]
    b_ub = np.r_[cap - flow, cap + flow]
    cost = _unit_costs(program.units)
    result = linprog(np.r_[cost, cost], A_ub=a_ub if a_ub.size else None,
                     b_ub=b_ub if a_ub.size else None, A_eq=program.a_eq,
                     b_eq=np.zeros(len(program.a_eq)), bounds=program.bounds, method="highs")
    if result.status != 0:
        return None
    return result.x[:n] - result.x[n:]


def _apply(engine: GridEngine, state: Dispatch, fleet: Fleet, units: np.ndarray, shift: np.ndarray,
           out: np.ndarray, islands: Islands) -> tuple[Dispatch, np.ndarray]:
    gen_mw = state.gen_mw.copy()
    gen_mw[units] += shift
    injection = state.injection_mw + np.bincount(fleet.bus[units], weights=shift,
                                                 minlength=len(state.injection_mw))
    new_flows = engine.flows(injection, out, islands=islands)
    return replace(state, gen_mw=gen_mw, injection_mw=injection), new_flows


def relieve_overloads(engine: GridEngine, state: Dispatch, fleet: Fleet, flows: np.ndarray,
                      limits: np.ndarray, out: np.ndarray, islands: Islands,
                      target_loading: float, *, method: Literal["generate", "dense"] = "generate",
                      ) -> tuple[Dispatch, np.ndarray] | None:
    """A redispatched state and its flows, or None when nothing is overloaded or no shift helps.

    ``method="generate"`` adds branch constraints as they are violated (see the module docstring);
    ``"dense"`` builds every watched branch's row from the full sensitivity matrix at once.
    """
    program = _program(engine, state, fleet, flows, limits, out, islands, target_loading)
    if program is None:
        return None
    buses = fleet.bus[program.units]
    if method == "dense":
        sens = engine.sensitivities(buses, out)[program.watched]
        shift = _solve(program, sens, np.arange(program.watched.size))
        return None if shift is None else _apply(engine, state, fleet, program.units, shift, out, islands)
    active = np.abs(program.flow_w) > program.cap_w + _CHECK_TOL_MW
    rows = np.zeros(0, dtype=np.int64)
    sens = np.zeros((0, program.units.size))
    for _ in range(_MAX_ROUNDS):
        new = np.setdiff1d(np.flatnonzero(active), rows)
        if new.size:
            sens = np.vstack([sens, engine.sensitivity_rows(program.watched[new], buses, out)])
            rows = np.r_[rows, new]
        shift = _solve(program, sens, rows)
        if shift is None:
            return None
        better = _apply(engine, state, fleet, program.units, shift, out, islands)
        over = np.abs(better[1][program.watched]) > program.cap_w + _CHECK_TOL_MW
        if not (over & ~active).any():
            return better
        active |= over
    return None

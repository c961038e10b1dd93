"""Corrective redispatch: the least generation shift that brings overloaded branches under limit.

A linear program (HiGHS through scipy) over each unit's increase and decrease: branch flows are
linear in them through the post-outage sensitivities (:meth:`GridEngine.sensitivities`), each
island stays balanced (equality constraints), and every loaded branch stays under its limit
(overloaded ones under ``target_loading`` of it). Exact for the DC model, not an approximation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import linprog

from twinworld.systems.grid.balance import Dispatch, Fleet
from twinworld.systems.grid.engine import GridEngine, Islands

__all__ = ["relieve_overloads"]


def relieve_overloads(engine: GridEngine, state: Dispatch, fleet: Fleet, flows: np.ndarray,
                      limits: np.ndarray, out: np.ndarray, islands: Islands,
                      target_loading: float) -> tuple[Dispatch, np.ndarray] | None:
    """A redispatched state and its flows, or None when nothing is overloaded or no shift helps."""
    on = engine.base_in & ~out
    over = on & (np.abs(flows) > limits + 1e-6)
    if not over.any():
        return None
    units = np.flatnonzero(fleet.on & (fleet.pmax_mw > 0))
    if units.size < 2:
        return None
    sens = engine.sensitivities(fleet.bus[units], out)
    watched = np.flatnonzero(on & (np.abs(flows) > 0.5 * limits))
    cap = np.where(over[watched], target_loading, 1.0) * limits[watched]
    s_w = sens[watched]
    n = units.size
    a_ub = np.vstack([np.hstack([s_w, -s_w]), np.hstack([-s_w, s_w])])
    b_ub = np.r_[cap - flows[watched], cap + flows[watched]]
    unit_island = islands.labels[fleet.bus[units]]
    groups = np.unique(unit_island)
    a_eq = np.array([np.r_[(unit_island == g), -1.0 * (unit_island == g)] for g in groups], dtype=float)
    gen = state.gen_mw[units]
    up = np.maximum(fleet.pmax_mw[units] - gen, 0.0)
    down = np.where(fleet.can_absorb[units], np.inf, np.maximum(gen, 0.0))
    bounds = [(0.0, u) for u in up] + [(0.0, None if np.isinf(d) else d) for d in down]
    result = linprog(np.ones(2 * n), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.zeros(len(groups)),
                     bounds=bounds, method="highs")
    if result.status != 0:
        return None
    shift = result.x[:n] - result.x[n:]
    gen_mw = state.gen_mw.copy()
    gen_mw[units] += shift
    injection = state.injection_mw + np.bincount(fleet.bus[units], weights=shift,
                                                 minlength=len(state.injection_mw))
    new_flows = engine.flows(injection, out, islands=islands)
    return replace(state, gen_mw=gen_mw, injection_mw=injection), new_flows

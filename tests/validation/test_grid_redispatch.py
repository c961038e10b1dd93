"""Redispatch by constraint generation against the full (dense) linear program.

Constraint generation solves the program with only the branch rows it needs, adding those the
dispatch violates. Its optimum must be the full program's: the same least total shift (to solver
tolerance), every watched branch within its limit, and, over whole runs, the same KPIs.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinworld.experiments.run import build_world
from twinworld.scenario import load_scenario
from twinworld.systems.grid.balance import dispatch
from twinworld.systems.grid.engine import cached_engine
from twinworld.systems.grid.model import base_fleet
from twinworld.systems.grid.redispatch import relieve_overloads

TARGET = 0.95


def _stressed(case: str, seed: int, outages: int, *, halved: int = 5, margin: float = 1.05):
    """A case at its base load with ``outages`` random branches out and limits at ``margin`` x the
    flow before them (0.5 x for ``halved`` of them), so the outages leave branches overloaded."""
    engine = cached_engine(case)
    load = engine.case.load_mw.copy()
    fleet = base_fleet(engine, load)
    none = np.zeros(engine.n_branch, dtype=bool)
    order = np.arange(engine.case.n_bus)
    before = engine.flows(dispatch(engine.islands(none), load, fleet, shed_order=order).injection_mw, none)
    rng = np.random.default_rng(seed)
    limits = np.maximum(margin * np.abs(before), 5.0)
    limits[rng.choice(engine.n_branch, halved, replace=False)] *= 0.5
    out = none.copy()
    out[rng.choice(np.flatnonzero(engine.base_in), outages, replace=False)] = True
    islands = engine.islands(out)
    state = dispatch(islands, load, fleet, shed_order=order)
    flows = engine.flows(state.injection_mw, out, islands=islands)
    return engine, state, fleet, flows, limits, out, islands


@pytest.mark.parametrize("case", ["case118", "case300"])
@pytest.mark.parametrize("seed", range(6))
def test_generated_program_has_the_dense_programs_optimum(case: str, seed: int) -> None:
    engine, state, fleet, flows, limits, out, islands = _stressed(case, seed, outages=2 + 2 * seed)
    on = engine.base_in & ~out
    over = on & (np.abs(flows) > limits + 1e-6)
    assert over.any()
    args = (engine, state, fleet, flows, limits, out, islands, TARGET)
    dense = relieve_overloads(*args, method="dense")
    generated = relieve_overloads(*args)
    assert (dense is None) == (generated is None)
    if dense is None:  # no shift can relieve the overloads: both programs are infeasible
        return
    shift = {name: np.abs(r[0].gen_mw - state.gen_mw).sum() for name, r in (("dense", dense),
                                                                           ("generated", generated))}
    assert shift["generated"] == pytest.approx(shift["dense"], rel=1e-6, abs=1e-6)
    # the tie-breaking order makes the optimum unique: the same units move by the same MW
    np.testing.assert_allclose(generated[0].gen_mw, dense[0].gen_mw, atol=1e-3)
    watched = on & (np.abs(flows) > 0.5 * limits)
    cap = np.where(over, TARGET, 1.0) * limits
    for _, new_flows in (dense, generated):
        assert (np.abs(new_flows[watched]) <= cap[watched] + 1e-4).all()
    for r in (dense, generated):  # each island stays balanced
        change = r[0].injection_mw - state.injection_mw
        assert np.abs(np.bincount(islands.labels, weights=change)).max() < 1e-6


def test_generated_program_builds_few_rows_on_a_large_grid() -> None:
    """On case1354pegase (limits at 1.2 x the flow before four outages split off two islands) the
    program needs a handful of the ~1,800 watched branches' rows."""
    from twinworld.systems.grid import redispatch

    engine, state, fleet, flows, limits, out, islands = _stressed("case1354pegase", 0, outages=4, halved=0,
                                                                  margin=1.2)
    rows: list[int] = []
    solve = redispatch._solve

    def counting(program, sens, which):
        rows.append(which.size)
        return solve(program, sens, which)

    redispatch._solve = counting
    try:
        result = relieve_overloads(engine, state, fleet, flows, limits, out, islands, TARGET)
    finally:
        redispatch._solve = solve
    dense = relieve_overloads(engine, state, fleet, flows, limits, out, islands, TARGET, method="dense")
    assert result is not None and dense is not None
    watched = (engine.base_in & ~out & (np.abs(flows) > 0.5 * limits)).sum()
    assert rows[-1] < watched / 10
    assert np.abs(result[0].gen_mw - state.gen_mw).sum() == pytest.approx(
        np.abs(dense[0].gen_mw - state.gen_mw).sum(), rel=1e-6)


STORM = {
    "twinworld": 1, "name": "storm on case118", "horizon": "2d",
    "systems": {"grid": {"kind": "power_grid", "source": {"pandapower": "case118"},
                         "ratings": {"source": "n_minus_1", "margin": 1.05, "min_mw": 20},
                         "trip_delay": "15min", "crews": 2}},
    "disruptions": [{"kind": "heatwave_load", "target": "grid", "start": "0h", "multiplier": 1.15,
                     "rating_derate": 0.05},
                    {"kind": "line_outage", "target": "grid", "start": "6h", "count": 8, "spread": "3h"}],
    "strategies": {"baseline": {}, "redispatch": {"grid": {"kind": "redispatch"}}},
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_whole_runs_give_the_same_kpis_with_either_program(seed: int) -> None:
    kpis = {}
    for method in ("dense", "generate"):
        world = build_world(load_scenario(STORM), "redispatch", seed)
        world.systems["grid"].redispatch_method = method
        world.run()
        kpis[method] = world.systems["grid"].kpis()
    assert kpis["generate"] == pytest.approx(kpis["dense"], rel=1e-6, abs=1e-6)

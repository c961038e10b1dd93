"""DC power flow against pandapower's ``rundcpp``; LODF compensation against re-solving; balance.

Oracles: pandapower (the peer tool) for base cases and every single outage of case118; a direct
sparse re-solve of every island for multi-outage sets; Kirchhoff's current law and per-island
generation = served load for the balanced states.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from twinworld.feeds.grid_cases import grid_case_from_net, load_grid_case, pandapower_net
from twinworld.systems.grid.balance import Fleet, dispatch
from twinworld.systems.grid.engine import GridEngine

pp = pytest.importorskip("pandapower")

TOL_PU = 1e-6


def _rundcpp_flows(net) -> np.ndarray:
    """pandapower's DC branch flows (MW, from end) in the case's branch order: lines, trafos."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcpp(net)
    parts = [net.res_line.p_from_mw.to_numpy()]
    if len(net.trafo):
        parts.append(net.res_trafo.p_hv_mw.to_numpy())
    return np.nan_to_num(np.concatenate(parts))


def _case_injection(case) -> np.ndarray:
    gen = np.where(case.gen_in_service, case.gen_p_mw, 0.0)
    return np.bincount(case.gen_bus, weights=gen, minlength=case.n_bus) - case.load_mw


@pytest.fixture(scope="module")
def case118():
    net = pandapower_net("case118")
    case = grid_case_from_net(net, name="case118", key="test:case118")
    return net, case, GridEngine(case)


@pytest.mark.parametrize("name", ["case9", "case30", "case118", "case1354pegase"])
def test_base_case_flows_equal_rundcpp(name: str) -> None:
    net = pandapower_net(name)
    case = grid_case_from_net(net, name=name, key=f"test:{name}")
    engine = GridEngine(case)
    none = np.zeros(case.n_branch, dtype=bool)
    ours = engine.flows(engine.slack_balanced(_case_injection(case), none), none)
    theirs = _rundcpp_flows(net)
    assert len(theirs) == case.n_branch
    assert np.max(np.abs(ours - theirs)) / case.base_mva < TOL_PU


def test_every_single_outage_of_case118_equals_rundcpp(case118) -> None:
    net, case, engine = case118
    post = engine.n_minus_1(_case_injection(case))
    n_lines = len(net.line)
    worst = 0.0
    for k in range(case.n_branch):
        table, index = ("line", k) if k < n_lines else ("trafo", k - n_lines)
        net[table].at[index, "in_service"] = False
        try:
            theirs = _rundcpp_flows(net)
        finally:
            net[table].at[index, "in_service"] = True
        worst = max(worst, float(np.max(np.abs(post[:, k] - theirs))))
    assert worst / case.base_mva < TOL_PU
    assert engine.bridges.sum() == 9          # radial branches whose outage islands a bus


def test_lodf_matrix_predicts_single_outages(case118) -> None:
    _, case, engine = case118
    none = np.zeros(case.n_branch, dtype=bool)
    p = engine.slack_balanced(_case_injection(case), none)
    f0 = engine.base_flows(p)
    lodf = engine.lodf()
    for k in np.flatnonzero(~engine.bridges)[::7]:
        out = none.copy()
        out[k] = True
        predicted = f0 + lodf[:, k] * f0[k]
        predicted[k] = 0.0
        assert np.allclose(predicted, engine.resolve_flows(p, out), atol=1e-9)


@pytest.mark.parametrize("n_out", [2, 5, 12, 40])
def test_compensated_flows_equal_resolved_flows(case118, n_out: int) -> None:
    _, case, engine = case118
    rng = np.random.default_rng(n_out)
    for _ in range(10):
        out = np.zeros(case.n_branch, dtype=bool)
        out[rng.choice(case.n_branch, n_out, replace=False)] = True
        p = engine.slack_balanced(_case_injection(case), out)
        assert np.allclose(engine.flows(p, out), engine.resolve_flows(p, out), atol=1e-8)


def _fleet(case) -> Fleet:
    slack = np.isin(np.arange(len(case.gen_ids)), [np.flatnonzero(case.gen_bus == b)[0] for b in case.slack_buses])
    return Fleet(case.gen_bus, case.gen_p_mw, case.gen_pmax_mw, case.gen_in_service.copy(), slack,
                 np.array([g.startswith("EG") for g in case.gen_ids]))


@pytest.mark.parametrize("policy", ["slack", "proportional"])
def test_generation_equals_served_load_in_every_island(case118, policy: str) -> None:
    _, case, engine = case118
    rng = np.random.default_rng(7)
    fleet = _fleet(case)
    incidence = np.zeros((case.n_branch, case.n_bus))
    incidence[np.arange(case.n_branch), case.from_bus] = 1.0
    incidence[np.arange(case.n_branch), case.to_bus] = -1.0
    for trial in range(25):
        out = np.zeros(case.n_branch, dtype=bool)
        out[rng.choice(case.n_branch, 30, replace=False)] = True
        fleet.on[:] = rng.random(len(fleet.on)) > 0.2
        islands = engine.islands(out)
        demand = case.load_mw * rng.uniform(0.8, 1.6)
        state = dispatch(islands, demand, fleet, shed_order=rng.permutation(case.n_bus), policy=policy)
        gen = np.bincount(islands.labels[case.gen_bus], weights=state.gen_mw, minlength=islands.count)
        served = np.bincount(islands.labels, weights=state.served_mw, minlength=islands.count)
        assert np.allclose(gen, served, atol=1e-6), trial
        assert np.all(state.gen_mw <= case.gen_pmax_mw + 1e-6)
        assert np.isclose(state.shed_mw, demand.sum() - state.served_mw.sum())
        flows = engine.flows(state.injection_mw, out, islands=islands)
        assert np.allclose(incidence.T @ flows, state.injection_mw, atol=1e-6)   # Kirchhoff
        assert np.all(flows[out] == 0.0)


def test_matpower_m_file_gives_rundcpp_flows(tmp_path) -> None:
    from pandapower.converter.matpower.to_mpc import to_mpc

    net = pandapower_net("case118")
    mpc = to_mpc(net, init="flat")["mpc"]
    lines = ["function mpc = case118", "mpc.version = '2';", f"mpc.baseMVA = {mpc['baseMVA']};"]
    for key in ("bus", "gen", "branch"):
        lines.append(f"mpc.{key} = [  % {key} data")
        lines += ["\t" + "\t".join(repr(float(v)) for v in row) + ";" for row in mpc[key]]
        lines.append("];")
    path = tmp_path / "case118.m"
    path.write_text("\n".join(lines))
    case = load_grid_case(path)
    engine = GridEngine(case)
    none = np.zeros(case.n_branch, dtype=bool)
    ours = engine.flows(engine.slack_balanced(_case_injection(case), none), none)
    theirs = _rundcpp_flows(net)
    by_ends = {}
    for k in range(case.n_branch):
        by_ends.setdefault((case.from_bus[k], case.to_bus[k]), []).append(ours[k])
    theirs_ends = {}
    from_bus = np.r_[net.line.from_bus, net.trafo.hv_bus]
    to_bus = np.r_[net.line.to_bus, net.trafo.lv_bus]
    for k in range(len(theirs)):
        theirs_ends.setdefault((from_bus[k], to_bus[k]), []).append(theirs[k])
    assert sorted(by_ends) == sorted(theirs_ends)
    for ends, values in by_ends.items():
        assert np.allclose(sorted(values), sorted(theirs_ends[ends]), atol=1e-6 * case.base_mva)


def test_mat_and_json_files_read_the_same_grid(tmp_path) -> None:
    from pandapower.converter.matpower.to_mpc import to_mpc

    net = pandapower_net("case30")
    to_mpc(net, filename=str(tmp_path / "case30.mat"), init="flat")
    pp.to_json(net, str(tmp_path / "case30.json"))
    bundled = load_grid_case("case30")
    for path in (tmp_path / "case30.mat", tmp_path / "case30.json"):
        case = load_grid_case(path)
        assert case.n_bus == bundled.n_bus and case.n_branch == bundled.n_branch
        assert np.isclose(case.load_mw.sum(), bundled.load_mw.sum())
        engine = GridEngine(case)
        none = np.zeros(case.n_branch, dtype=bool)
        flows = engine.flows(engine.slack_balanced(_case_injection(case), none), none)
        assert np.isclose(np.abs(flows).sum(), np.abs(_rundcpp_flows(net)).sum(), rtol=1e-9)


def test_two_slack_distribution_grid_with_switches_equals_rundcpp() -> None:
    net = pandapower_net("mv_oberrhein")
    case = grid_case_from_net(net, name="mv_oberrhein", key="test:mv_oberrhein")
    engine = GridEngine(case)
    none = np.zeros(case.n_branch, dtype=bool)
    ours = engine.flows(engine.slack_balanced(_case_injection(case), none), none)
    assert len(case.slack_buses) == 2 and engine.base_islands.count >= 2
    assert np.max(np.abs(ours - _rundcpp_flows(net))) / case.base_mva < TOL_PU


def test_sparse_engine_for_large_grids_matches_the_dense_one(case118) -> None:
    _, case, dense = case118
    sparse = GridEngine(case, dense_limit=0)      # what grids above 4,000 buses use
    assert sparse.ptdf is None and (sparse.bridges == dense.bridges).all()
    p = _case_injection(case)
    assert np.allclose(sparse.n_minus_1(p), dense.n_minus_1(p), atol=1e-8, equal_nan=True)
    rng = np.random.default_rng(3)
    for n_out in (3, 30):
        out = np.zeros(case.n_branch, dtype=bool)
        out[rng.choice(case.n_branch, n_out, replace=False)] = True
        balanced = dense.slack_balanced(p, out)
        assert np.allclose(sparse.flows(balanced, out), dense.flows(balanced, out), atol=1e-8)

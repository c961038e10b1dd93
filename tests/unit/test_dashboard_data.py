"""The dashboard's server side without a browser: DuckDB aggregates against pandas and the ranking
code as oracles, binding rules, the region map's contents, event parsing, live-state folding."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ROOT
from tests.ranking_synthetic import synthetic_runs, write_sweep
from twinworld.analysis.stats import paired_wide, prob_best, regret
from twinworld.dashboard.options import DashboardError, DashboardOptions, check_binding, is_loopback, parse_broker
from twinworld.dashboard.sweepdata import Filters, SweepSource, open_sweep

MEANS = {"baseline": 12.0, "transfer": 10.0, "combined": 11.0}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    frame = synthetic_runs(MEANS, scenarios=300, replications=2, seed=4)
    frame.loc[7, "status"] = "failed"          # one failed run: left out of every statistic
    frame.loc[7, "kpi.cost"] = np.nan
    return frame


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, runs) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    half = len(runs) // 2
    write_sweep(folder, runs.iloc[:half], part="part-00000001")
    runs.iloc[half:].to_parquet(folder / "results" / "part-00000002.parquet", index=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(scenarios=300, replications=2, runs=len(runs))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"]


def test_box_statistics_equal_numpy_quantiles(sweep, runs) -> None:
    stats = SweepSource(sweep).box_stats("cost", Filters()).set_index("strategy")
    assert list(stats.index) == list(MEANS)
    for strategy, part in ok(runs).groupby("strategy"):
        x = part["kpi.cost"].to_numpy()
        row = stats.loc[strategy]
        assert row["n"] == len(x)
        np.testing.assert_allclose([row["p10"], row["q1"], row["median"], row["q3"], row["p90"]],
                                   np.quantile(x, [0.1, 0.25, 0.5, 0.75, 0.9]), rtol=1e-12)
        assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert (row["min"], row["max"]) == (x.min(), x.max())


def test_histogram_counts_every_finished_run_once(sweep, runs) -> None:
    hist = SweepSource(sweep).histogram("cost", Filters(), bins=25)
    assert hist.groupby("strategy")["count"].sum().to_dict() == ok(runs).groupby("strategy").size().to_dict()
    assert hist["left"].min() == pytest.approx(ok(runs)["kpi.cost"].min())
    assert hist["right"].max() == pytest.approx(ok(runs)["kpi.cost"].max())


def test_regret_and_p_best_match_the_ranking_code(sweep, runs) -> None:
    got = SweepSource(sweep).regret("cost", Filters()).set_index("strategy")
    wide = paired_wide(ok(runs), "cost", list(MEANS))   # complete blocks only, as in rank()
    oracle = regret(wide, "minimize")
    assert got["blocks"].tolist() == [len(wide)] * 3 and len(wide) == 599
    np.testing.assert_allclose(got["mean_regret"], oracle.mean().reindex(got.index), rtol=1e-9)
    np.testing.assert_allclose(got["max_regret"], oracle.max().reindex(got.index), rtol=1e-9)
    np.testing.assert_allclose(got["p_best"], prob_best(wide, "minimize").reindex(got.index), rtol=1e-9)


def test_filters_narrow_exactly_as_a_pandas_mask(sweep, runs) -> None:
    source = SweepSource(sweep)
    filters = Filters.of({"surge": (1.2, 1.6), "loss": (0.1, 0.4)}, "transfer")
    mask = (runs["param.surge"].between(1.2, 1.6) & runs["param.loss"].between(0.1, 0.4)
            & (runs["strategy"] == "transfer"))
    assert int(source.counts(filters)["runs"].sum()) == int(mask.sum()) > 0
    stats = source.box_stats("cost", filters)
    assert stats["strategy"].tolist() == ["transfer"]
    assert stats["n"].iloc[0] == int((mask & (runs["status"] == "ok")).sum())
    worst = source.worst_runs("cost", filters, limit=5)
    expected = runs[mask & (runs["status"] == "ok")].nlargest(5, "kpi.cost")["run_id"].tolist()
    assert worst["run_id"].tolist() == expected
    with pytest.raises(DashboardError, match="unknown parameter 'nope'"):
        source.counts(Filters.of({"nope": (0, 1)}))


def test_sample_is_bounded_deterministic_and_filtered(sweep) -> None:
    source = SweepSource(sweep)
    first = source.sample("surge", "cost", Filters.of(strategy="combined"), limit=50)
    again = source.sample("surge", "cost", Filters.of(strategy="combined"), limit=50)
    assert len(first) == 50 and first["run_id"].tolist() == again["run_id"].tolist()
    assert set(first["strategy"]) == {"combined"}


def test_duplicate_run_ids_keep_the_newest_file(tmp_path, runs) -> None:
    folder = write_sweep(tmp_path / "dup", runs.head(30), part="part-00000001")
    rerun = runs.head(3).assign(**{"kpi.cost": 999.0})
    rerun.to_parquet(folder / "results" / "part-00000002.parquet", index=False)
    source = SweepSource(folder)
    assert int(source.counts(Filters())["runs"].sum()) == 30
    assert source.run_row(runs["run_id"].iloc[0])["kpi.cost"] == 999.0


def test_folder_changes_are_picked_up(tmp_path, runs) -> None:
    folder = write_sweep(tmp_path / "grow", runs.head(30), part="part-00000001")
    source = SweepSource(folder)
    assert not source.refresh()
    runs.iloc[30:60].to_parquet(folder / "results" / "part-00000002.parquet", index=False)
    assert source.refresh()
    assert int(source.counts(Filters())["runs"].sum()) == 60


def test_unfinished_and_broken_sweeps_are_messages(tmp_path, runs) -> None:
    folder = write_sweep(tmp_path / "half", runs.head(40))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(complete=False, runs=len(runs))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    opened = open_sweep(folder)
    assert opened.source is not None and not opened.source.status().complete
    assert f"the sweep is not finished (40 of {len(runs):,} runs)" in opened.notes[0]
    assert open_sweep(tmp_path / "missing").error.endswith(
        "no such folder (give a folder written by `twinworld sweep`)")
    (tmp_path / "empty").mkdir()
    assert "no results/*.parquet" in open_sweep(tmp_path / "empty").error
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "manifest.json").write_text("{not json")
    assert "manifest.json: not valid JSON" in open_sweep(broken).error


def test_binding_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.3.2.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    check_binding(DashboardOptions())
    check_binding(DashboardOptions(host="0.0.0.0", token="a-long-secret"))
    with pytest.raises(DashboardError, match="refusing to listen on 0.0.0.0: .* needs a token"):
        check_binding(DashboardOptions(host="0.0.0.0"))
    with pytest.raises(DashboardError, match="at least 8 characters"):
        check_binding(DashboardOptions(token="short"))
    with pytest.raises(DashboardError, match="not a TCP port"):
        check_binding(DashboardOptions(port=70000))
    assert parse_broker("127.0.0.1:1883") == ("127.0.0.1", 1883)
    with pytest.raises(DashboardError, match="not HOST:PORT"):
        parse_broker("localhost")


def test_token_is_required_on_every_request(tmp_path) -> None:
    from twinworld.dashboard.app import TOKEN_COOKIE, create_app
    from twinworld.dashboard.context import build_context

    app = create_app(build_context(DashboardOptions(token="s3cret-token")))
    client = app.server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/?token=wrong-token").status_code == 401
    swap = client.get("/?token=s3cret-token")
    assert swap.status_code == 303 and f"{TOKEN_COOKIE}=s3cret-token" in swap.headers["Set-Cookie"]
    assert "HttpOnly" in swap.headers["Set-Cookie"]
    assert client.get("/").status_code == 200          # the cookie now rides along
    fresh = app.server.test_client()
    assert fresh.get("/_dash-layout", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


# ------------------------------------------------------------------------------ region map --
def test_region_map_of_helsinki_has_its_roads_shelters_and_exits() -> None:
    from twinworld.dashboard.regionmap import region_map
    from twinworld.scenario import load_scenario

    region = region_map(load_scenario(ROOT / "scenarios" / "helsinki_evacuation.yaml"))
    assert region.counts() == {"shelter": 4, "exit": 3, "place": 4}
    assert (region.segments["kind"] == "road").sum() == 328        # the description's 328 directed links
    assert set(region.areas["kind"]) == {"zone", "hazard"}
    hakaniemi = region.facilities.set_index(["kind", "name"]).loc[("shelter", "Hakaniemi")]
    assert 60.17 < hakaniemi["y"] < 60.19 and 24.93 < hakaniemi["x"] < 24.97   # a shelter and a place


def test_grid_without_coordinates_is_anchored_at_the_hospitals_it_feeds() -> None:
    from twinworld.dashboard.regionmap import region_map
    from twinworld.scenario import load_scenario

    region = region_map(load_scenario(ROOT / "scenarios" / "storm_cascade.yaml"))
    assert region.counts() == {"hospital": 5, "bus": 118}
    at = region.facilities.set_index(["kind", "element"])
    for bus, hospital in (("11", "Central"), ("58", "Harbour")):
        where = at.loc[("hospital", hospital), ["x", "y"]].tolist()
        assert at.loc[("bus", bus), ["x", "y"]].tolist() == pytest.approx(where)
    assert any("no geographic coordinates" in n for n in region.notes)
    assert len(region.panels) == 1 and region.panels[0].geographic


def test_supply_network_without_locations_is_a_schematic() -> None:
    from twinworld.dashboard.regionmap import region_map
    from twinworld.scenario import load_scenario

    region = region_map(load_scenario(ROOT / "scenarios" / "port_strike.yaml"))
    assert region.counts() == {"warehouse": 4, "supplier": 3, "supply_port": 3, "customer": 24}
    assert [(p.key, p.geographic) for p in region.panels] == [("supply", False)]
    assert len(region.segments) == 41


# ------------------------------------------------------------------------------ replay, events --
@pytest.mark.parametrize("name", ["helsinki_evacuation", "storm_cascade", "port_congestion"])
def test_replay_reproduces_the_run_exactly(name: str) -> None:
    import twinworld
    from twinworld.dashboard.replay import replay_run

    scenario = twinworld.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    strategy = list(scenario.strategies)[-1]
    replay = replay_run(scenario, strategy, seed=3, frames=40)
    assert replay.kpis == twinworld.run(scenario, strategy, seed=3).kpis
    assert len(replay.times_h) == 41 and replay.times_h[0] == 0.0 and replay.times_h[-1] == replay.horizon_h
    for density, closed in replay.links.values():
        assert density.shape[0] == closed.shape[0] == 41


def test_road_replay_shows_the_flood_closing_links() -> None:
    import twinworld
    from twinworld.dashboard.replay import replay_run

    scenario = twinworld.load_scenario(ROOT / "scenarios" / "helsinki_evacuation.yaml")
    replay = replay_run(scenario, "baseline", seed=1, frames=60)
    flood = replay.events[(replay.events["kind"] == "effect_on") & (replay.events["element"] == "surge_flood")]
    onset = float(flood["time_h"].iloc[0])
    before = replay.state_at(onset - 0.2).segments
    after = replay.state_at(onset + 0.2).segments
    closed = lambda state: sum(v == "closed" for v in state.values())  # noqa: E731
    assert closed(after) > closed(before)
    assert set(after.values()) <= {"free", "busy", "congested", "jammed", "closed"}


def test_cascade_events_name_system_element_and_cause() -> None:
    import twinworld
    from twinworld.dashboard.events import CASCADE_COLUMNS, cascade_events, cause_links
    from twinworld.dashboard.replay import replay_run

    scenario = twinworld.load_scenario(ROOT / "scenarios" / "storm_cascade.yaml")
    events = None
    for seed in range(1, 40):  # find a run where the substation feeding Central is lost
        events = replay_run(scenario, "baseline", seed=seed, frames=10).events
        if (events["kind"] == "service_lost").any():
            break
    assert list(events.columns) == CASCADE_COLUMNS
    lost = events[events["kind"] == "service_lost"].iloc[0]
    assert (lost["system"], lost["element"], lost["cause"]) == ("hospitals", "Central", "grid.bus.11")
    links = cause_links(events)
    causes = [events.loc[a] for a, b in links if b == lost.name]
    assert causes and causes[0]["system"] == "grid" and causes[0]["element"] == "11"
    assert causes[0]["time_h"] <= lost["time_h"]
    # A table that already has the columns passes through.
    assert cascade_events(events, scenario).equals(events)


def test_replay_paints_the_lost_substation_dark_and_the_hospital_it_feeds() -> None:
    import twinworld
    from twinworld.dashboard.replay import replay_run

    scenario = twinworld.load_scenario(ROOT / "scenarios" / "storm_cascade.yaml")
    replay = next(r for r in (replay_run(scenario, "baseline", seed=s, frames=10) for s in range(1, 40))
                  if (r.events["kind"] == "substation_lost").any())
    lost = replay.events[replay.events["kind"] == "substation_lost"].iloc[0]
    before, during = replay.state_at(lost["time_h"] - 1e-6), replay.state_at(lost["time_h"] + 1e-6)
    assert ("grid", "11") not in before.dark and ("grid", "11") in during.dark
    assert "dark" in during.notes[("grid", "11")]
    assert 0.0 <= during.stress[("hospitals", "Central")] <= 1.0


# ------------------------------------------------------------------------------ live state --
def _delivery(topic: str, payload: object) -> SimpleNamespace:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return SimpleNamespace(topic=topic, payload=body, received_s=time.time(), retained=False)


def test_live_state_checks_messages_as_the_twin_does_and_folds_them() -> None:
    """With a scenario, the page quarantines what the twin's guard quarantines, for the same reasons."""
    from twinworld.dashboard.live import LiveState, live_prefix
    from twinworld.scenario import load_scenario
    from twinworld.twin.channels import telemetry_for

    scenario = load_scenario(ROOT / "scenarios" / "hospital_surge.yaml")
    prefix = live_prefix(scenario, None)
    assert prefix == "twinworld/flu-wave-across-the-region-s-hospitals"
    state = LiveState(prefix=prefix, telemetry=telemetry_for(scenario))
    assert state.subscription == prefix + "/#"
    state.accept(_delivery(f"{prefix}/hospitals/state/Central", {"ward_occupied": 300, "icu_occupied": 20}))
    state.accept(_delivery(f"{prefix}/hospitals/state/Central", {"ward_occupied": 310}))
    state.accept(_delivery(f"{prefix}/hospitals/state", {"hospitals": {"Harbour": {"icu_occupied": 7}}}))
    state.accept(_delivery(f"{prefix}/hospitals/state/Nowhere", {"ward_occupied": 1}))           # unknown element
    state.accept(_delivery(f"{prefix}/hospitals/state/Harbour", b"{broken"))                   # malformed
    state.accept(_delivery(f"{prefix}/hospitals/state/Harbour", {"ward_occupied": -3}))        # out of range
    state.accept(_delivery("twinworld/another-scenario/hospitals/state/Central", {"ward_occupied": 1}))
    state.accept(_delivery(f"{prefix}/twin/recommendation",
                           {"recommended": "transfer", "strategies": [{"strategy": "transfer", "mean": 3.0}],
                            "posterior": {"hospitals.flu_wave.peak": {"median": 1.4, "low": 1.3, "high": 1.5}}}))
    state.accept(_delivery(f"{prefix}/twin/recommendation", {"recommended": "x"}))            # no strategies
    state.accept(_delivery(f"{prefix}/twin/status", {"round": 3, "messages": {"received": 9}}))
    snap = state.snapshot()
    assert snap.received == 10 and snap.quarantined == 5 and snap.version == 10
    assert set(snap.census["hospitals"]) == {"Central", "Harbour"}
    central, harbour = snap.census["hospitals"]["Central"], snap.census["hospitals"]["Harbour"]
    assert (central["ward_occupied"], central["icu_occupied"]) == (310, 20)   # an element update keeps the rest
    assert (harbour["ward_occupied"], harbour["icu_occupied"]) == (0, 7)
    assert snap.recommendation is not None and snap.recommendation["recommended"] == "transfer"
    assert snap.twin_status is not None and snap.twin_status["round"] == 3
    reasons = " | ".join(q["reason"] for q in snap.quarantine)
    for expected in ("unknown_element", "malformed", "out_of_range", "is not under", "'strategies' list"):
        assert expected in reasons, (expected, reasons)
    assert "no twin broker given" in snap.status and not snap.connected


def test_live_state_without_a_scenario_watches_any_twin() -> None:
    from twinworld.dashboard.live import ANY_SCENARIO, LiveState

    state = LiveState(prefix=ANY_SCENARIO)
    state.accept(_delivery("twinworld/storm/grid/state/bus/11", {"energised": False, "time": "2026-01-01T00:00Z"}))
    state.accept(_delivery("twinworld/storm/grid/event", {"kind": "line_tripped", "line": 4}))
    state.accept(_delivery("twinworld/storm/grid/telemetry", {"x": 1}))                       # not a twin topic
    state.accept(_delivery("elsewhere/storm/grid/state", {"x": 1}))
    state.accept(_delivery("twinworld/storm/grid/state", b"[" * 40 + b"]" * 40))              # too deep
    snap = state.snapshot()
    assert snap.received == 5 and snap.quarantined == 3
    assert snap.topics["twinworld/storm/grid/state/bus/11"]["data"] == {"energised": False}
    assert snap.topics["twinworld/storm/grid/event (line_tripped)"]["data"]["line"] == 4
    assert snap.systems == {"grid"}


def test_summary_equals_the_ranking_codes_summary(sweep, runs) -> None:
    """DuckDB's per-strategy figures (mean, median, p90, exact CVaR, regrets, P(best)) are rank()'s."""
    from twinworld.analysis import RankOptions, rank

    got = SweepSource(sweep).summary("cost", Filters(), alpha=0.9).set_index("strategy")
    oracle = rank(ok(runs), RankOptions(discover_failures=False), directions={"cost": "minimize"}).summary.loc["cost"]
    for column in ("mean", "median", "p90", "cvar", "mean_regret", "max_regret", "p_best"):
        np.testing.assert_allclose(got[column], oracle[column].reindex(got.index), rtol=1e-9, err_msg=column)
    assert got["runs"].tolist() == [599] * 3        # the blocks where every strategy finished


def test_flagship_map_and_replay_draw_the_declared_cause_chains() -> None:
    import twinworld
    from twinworld.dashboard.events import cause_links
    from twinworld.dashboard.regionmap import region_map
    from twinworld.dashboard.replay import replay_run

    scenario = twinworld.load_scenario(ROOT / "scenarios" / "regional_storm.yaml")
    counts = region_map(scenario).counts()
    assert counts["hospital"] == 5 and counts["port"] == 1 and counts["bus"] == 118
    replay = replay_run(scenario, "baseline", seed=3, frames=24)
    assert replay.kpis == twinworld.run(scenario, "baseline", seed=3).kpis
    timeline = replay.timeline
    assert {"id", "cause_id"} <= set(timeline.columns) and (timeline["kind"] == "degraded").any()
    links = cause_links(timeline)
    by_row = timeline.reset_index(drop=True)
    for cause, effect in links:             # exact: every link is a declared cause, earlier or simultaneous
        assert by_row.loc[effect, "cause_id"] == by_row.loc[cause, "id"]
        assert by_row.loc[cause, "time_h"] <= by_row.loc[effect, "time_h"]
    degraded = by_row.index[by_row["kind"] == "degraded"]
    assert all(any(e == row for _, e in links) for row in degraded)   # each degradation drawn with its cause


def test_the_vendored_plotly_bundle_matches_the_plotly_package() -> None:
    """assets/plotly-cartesian.min.js is plotly.js's cartesian bundle of the same major version as
    the full bundle the ``plotly`` package ships (figures are built with that package)."""
    import re

    import plotly

    def version(path: Path) -> str:
        head = path.read_text(encoding="utf-8", errors="replace")[:300]
        found = re.search(r"plotly\.js(?: \(cartesian - minified\))? v(\d+)\.(\d+)\.(\d+)", head)
        assert found, head
        return found.group(1)

    vendored = ROOT / "twinworld" / "dashboard" / "assets" / "plotly-cartesian.min.js"
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert version(vendored) == version(full)
    assert (vendored.parent / "plotly-cartesian.LICENSE.txt").read_text().startswith("MIT License")

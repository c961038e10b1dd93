"""Grid inputs: case names, files and element ids; bad ones fail with what is wrong and what is valid."""

from __future__ import annotations

import pytest

from twinworld.errors import FeedError, ScenarioError
from twinworld.errors import name_list
from twinworld.feeds.grid_cases import load_grid_case, read_matpower_m
from twinworld.scenario import load_scenario

CASE9_M = """function mpc = case9
mpc.version = '2';
mpc.baseMVA = 100;
%% bus data
mpc.bus = [
	1	3	0	0	0	0	1	1	0	345	1	1.1	0.9;
	2	2	0	0	0	0	1	1	0	345	1	1.1	0.9;
	3	2	0	0	0	0	1	1	0	345	1	1.1	0.9;
	4	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	5	1	90	30	0	0	1	1	0	345	1	1.1	0.9;
	6	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	7	1	100	35	0	0	1	1	0	345	1	1.1	0.9;
	8	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	9	1	125	50	0	0	1	1	0	345	1	1.1	0.9;
];
mpc.gen = [
	1	72.3	27.03	300	-300	1.04	100	1	250	10;
	2	163	6.54	300	-300	1.025	100	1	300	10;
	3	85	-10.95	300	-300	1.025	100	1	270	10;
];
mpc.branch = [
	1	4	0	0.0576	0	250	250	250	0	0	1	-360	360;
	4	5	0.017	0.092	0.158	250	250	250	0	0	1	-360	360;
	5	6	0.039	0.17	0.358	150	150	150	0	0	1	-360	360;
	3	6	0	0.0586	0	300	300	300	0	0	1	-360	360;
	6	7	0.0119	0.1008	0.209	150	150	150	0	0	1	-360	360;
	7	8	0.0085	0.072	0.149	250	250	250	0	0	1	-360	360;
	8	2	0	0.0625	0	250	250	250	0	0	1	-360	360;
	8	9	0.032	0.161	0.306	250	250	250	0	0	1	-360	360;
	9	4	0.01	0.085	0.176	250	250	250	0	0	1	-360	360;
];
"""


def _scenario(grid: dict, disruptions: list | None = None, **extra) -> dict:
    return {"twinworld": 1, "name": "grid test", "horizon": "6h",
            "systems": {"grid": {"kind": "power_grid", **grid}},
            "disruptions": disruptions or [], **extra}


def test_matpower_text_is_parsed_with_comments_and_zero_based_buses(tmp_path) -> None:
    path = tmp_path / "case9.m"
    path.write_text(CASE9_M)
    ppc = read_matpower_m(path)
    assert ppc["baseMVA"] == 100.0
    assert ppc["bus"].shape == (9, 13) and ppc["bus"][0, 0] == 0
    assert ppc["branch"][0, :2].tolist() == [0, 3]
    case = load_grid_case(path)
    assert case.n_bus == 9 and case.n_branch == 9
    assert case.slack_buses.tolist() == [0]
    assert case.load_mw.sum() == pytest.approx(315.0)
    assert case.rating_mw[2] == pytest.approx(150.0)


def test_unknown_case_name_lists_the_bundled_cases() -> None:
    with pytest.raises(FeedError, match=r"unknown grid case 'case_118'.*case118.*mv_oberrhein"):
        load_grid_case("case_118")


def test_case_file_that_does_not_parse(tmp_path) -> None:
    broken = tmp_path / "broken.m"
    broken.write_text("function mpc = broken\nmpc.baseMVA = 100;\nmpc.bus = [1 3 0;\n 2 1];\n")
    with pytest.raises(FeedError, match=r"broken.m: mpc.bus is not a numeric matrix"):
        load_grid_case(broken)
    missing = tmp_path / "notacase.m"
    missing.write_text("x = 1;\n")
    with pytest.raises(FeedError, match=r"not a MATPOWER case: missing mpc.baseMVA, mpc.bus"):
        load_grid_case(missing)
    garbage = tmp_path / "net.json"
    garbage.write_text("{not json")
    with pytest.raises(FeedError, match=r"net.json' could not be read as pandapower JSON"):
        load_grid_case(garbage)
    mat = tmp_path / "net.mat"
    mat.write_bytes(b"\x00not a mat file")
    with pytest.raises(FeedError, match=r"could not be read as a MATPOWER case"):
        load_grid_case(mat)


def test_grid_without_a_slack_bus(tmp_path) -> None:
    path = tmp_path / "noslack.m"
    path.write_text(CASE9_M.replace("\t1\t3\t0\t0", "\t1\t2\t0\t0", 1))
    with pytest.raises(FeedError, match=r"has no slack bus: add an external grid \(ext_grid\)"):
        load_grid_case(path)


def test_ids_are_shown_as_ranges() -> None:
    assert name_list(["L0", "L1", "L2", "T0", "T1", "L7"]) == "L0..L2, T0, T1, L7"
    assert name_list(["0", "1", "2", "aux9"]) == "0..2, aux9"


def test_scenario_with_unknown_line_says_which_lines_exist() -> None:
    data = _scenario({"source": {"pandapower": "case9"}},
                     [{"kind": "line_outage", "target": "grid", "lines": ["L4", "L99"]}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    problem = info.value.first
    assert problem.path == "disruptions.0.lines"
    assert problem.message == "no line 'L99' in 'grid'"
    assert problem.valid == "L0..L8"


def test_scenario_with_unknown_bus_generator_and_target_element() -> None:
    data = _scenario({"source": {"pandapower": "case9"},
                      "critical_loads": [{"bus": "42", "kind": "hospital"}]},
                     [{"kind": "generator_trip", "target": "grid", "generators": ["G7"]},
                      {"kind": "line_outage", "target": "grid.L12"}])
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    text = str(info.value)
    assert "systems.grid.critical_loads.0.bus: no bus '42' in grid 'case9' (valid: 0..8)" in text
    assert "disruptions.0.generators: no generator 'G7' in 'grid' (valid: EG0, G0, G1)" in text
    assert "disruptions.1.target: no line 'L12' in 'grid' (valid: grid, or grid.<one of L0..L8>)" in text


def test_scenario_with_unknown_case_and_bad_source() -> None:
    with pytest.raises(ScenarioError, match=r"systems.grid.source.pandapower: unknown grid case 'case7'; did you mean 'case57'"):
        load_scenario(_scenario({"source": {"pandapower": "case7"}}))
    with pytest.raises(ScenarioError, match=r"exactly one of pandapower: <case name> or file: <path>"):
        load_scenario(_scenario({"source": {"pandapower": "case9", "file": "x.m"}}))


def test_case_file_in_a_scenario_is_read_once_and_keyed_by_content(tmp_path) -> None:
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "case9.m").write_text(CASE9_M)
    scenario_file = tmp_path / "grid.yaml"
    scenario_file.write_text(
        "twinworld: 1\nname: file grid\nhorizon: 4h\n"
        "systems:\n  grid: {kind: power_grid, source: {file: grids/case9.m}}\n")
    scenario = load_scenario(scenario_file)
    source = scenario.systems["grid"].source
    assert source.digest.startswith("grid:file:") and source.file.endswith("case9.m")
    (tmp_path / "grids" / "bad.m").write_text("nothing here")
    scenario_file.write_text(scenario_file.read_text().replace("case9.m", "bad.m"))
    with pytest.raises(ScenarioError, match=r"grid.yaml:5:\d+: systems.grid.source: bad.m: not a MATPOWER case"):
        load_scenario(scenario_file)
    scenario_file.write_text(scenario_file.read_text().replace("grids/bad.m", "../outside.m"))
    with pytest.raises(ScenarioError, match=r"leaves the scenario's data folder"):
        load_scenario(scenario_file)


def test_unknown_line_in_a_file_grid_fails_when_the_scenario_is_loaded(tmp_path) -> None:
    (tmp_path / "case9.m").write_text(CASE9_M)
    data = _scenario({"source": {"file": "case9.m"}},
                     [{"kind": "line_outage", "target": "grid", "lines": ["L77"]}])
    with pytest.raises(ScenarioError, match=r"lines: no line 'L77' in 'grid' \(valid: L0..L8\)"):
        load_scenario(data, base_dir=tmp_path)


def test_flood_needs_bus_coordinates(tmp_path) -> None:
    (tmp_path / "case9.m").write_text(CASE9_M)
    data = _scenario({"source": {"pandapower": "case9"}},
                     [{"kind": "flood", "target": "grid", "polygon": [[0, 0], [1, 0], [1, 1]]}])
    scenario = load_scenario(data)            # case9 ships coordinates
    assert scenario.disruptions[0].kind == "flood"
    data = _scenario({"source": {"file": "case9.m"}},
                     [{"kind": "flood", "target": "grid", "polygon": [[0, 0], [1, 0], [1, 1]]}])
    from twinworld.experiments.run import run

    with pytest.raises(ScenarioError, match=r"has no bus coordinates"):
        run(load_scenario(data, base_dir=tmp_path), "baseline", seed=1)


def test_line_outage_takes_one_way_of_choosing_lines() -> None:
    data = _scenario({"source": {"pandapower": "case9"}},
                     [{"kind": "line_outage", "target": "grid", "lines": ["L1"], "count": 2}])
    with pytest.raises(ScenarioError, match=r"give one of lines, count, wind_speed_ms"):
        load_scenario(data)

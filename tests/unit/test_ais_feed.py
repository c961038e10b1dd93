"""The AIS feed: MarineCadastre CSV and raw NMEA in, positions, quarantine and port calls out."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from twinworld.errors import FeedError
from twinworld.feeds.ais import (CSV_COLUMNS, POSITION_COLUMNS, arrival_statistics, fit_renewal,
                                 points_in_polygon, port_calls, read_ais, read_ais_csv, read_ais_nmea)

ROOT = Path(__file__).resolve().parents[2]
AIS = ROOT / "scenarios" / "data" / "ais"
POLYGONS = yaml.safe_load((AIS / "kestrel_bay_port.yaml").read_text())


@pytest.fixture(scope="module")
def csv_data():
    return read_ais_csv(AIS / "kestrel_bay.csv")


@pytest.fixture(scope="module")
def nmea_data():
    return read_ais_nmea(AIS / "kestrel_bay.nmea")


def test_csv_sample_quarantines_each_malformed_row_with_its_line_and_reason(csv_data) -> None:
    assert csv_data.records_read == 5199
    assert csv_data.quarantined == 8
    assert len(csv_data.positions) == 5199 - 8
    assert csv_data.reasons() == {"bad MMSI": 1, "bad position": 2, "bad speed": 2, "bad time": 1,
                                  "wrong field count": 2}
    by_line = dict(zip(csv_data.quarantine["line"], csv_data.quarantine["reason"]))
    assert by_line[152] == "bad MMSI: '24400AB17' is not 9 digits"
    assert by_line[303].startswith("bad time: '2026-03-05T25:61:00'")
    assert by_line[907] == "wrong field count: 9 fields, header has 17"
    assert by_line[1209].startswith("bad speed: SOG '102.3'")   # AIS's "not available"
    assert all(csv_data.quarantine["raw"].str.len() > 20)


def test_csv_positions_are_typed_with_missing_values_as_nan(csv_data) -> None:
    positions = csv_data.positions
    assert list(positions.columns) == list(POSITION_COLUMNS)
    assert str(positions["time"].dt.tz) == "UTC"
    assert positions["mmsi"].dtype == np.int64
    assert positions["heading_deg"].isna().any() and positions["heading_deg"].max() < 360  # 511 -> NaN
    assert positions["cog_deg"].max() < 360                                                # 360 -> NaN
    assert positions["imo"].str.startswith("IMO").sum() == 0
    assert positions.groupby("mmsi")["time"].is_monotonic_increasing.all()


def test_nmea_sample_decodes_with_pyais_and_quarantines_six_kinds_of_bad_line(nmea_data) -> None:
    assert nmea_data.quarantined == 6
    assert nmea_data.reasons() == {
        "bad checksum": 1, "bad position": 1, "incomplete multi-part message": 1, "no timestamp": 1,
        "not an NMEA sentence": 1, "too short to be an NMEA sentence": 1}
    assert list(nmea_data.quarantine["line"]) == [61, 122, 183, 244, 305, 366]
    # Every vessel's type 5 static report (two fragments each) fills the vessel columns.
    assert len(nmea_data.vessels) == nmea_data.positions["mmsi"].nunique()
    assert (nmea_data.positions["vessel_name"] != "").all()
    assert nmea_data.positions["length_m"].notna().all()


def test_nmea_and_csv_carry_the_same_reports_for_the_first_three_days(csv_data, nmea_data) -> None:
    cut = nmea_data.positions["time"].max()
    csv_part = csv_data.positions[csv_data.positions["time"] <= cut]
    # The NMEA file encodes the same good reports (the CSV's malformed rows are quarantined copies).
    assert len(nmea_data.positions) == len(csv_part)
    merged = nmea_data.positions.merge(csv_part, on=["mmsi", "time"], suffixes=("_nmea", "_csv"))
    assert len(merged) == len(nmea_data.positions)
    assert np.allclose(merged["lat_nmea"], merged["lat_csv"], atol=1e-4)   # AIS keeps 1/10000 minute
    assert np.allclose(merged["lon_nmea"], merged["lon_csv"], atol=1e-4)
    assert np.allclose(merged["sog_kn_nmea"], merged["sog_kn_csv"], atol=0.051)


def test_port_calls_from_the_sample_match_the_simulated_truth(csv_data) -> None:
    calls = port_calls(csv_data.positions, POLYGONS["port_polygon"], berth_polygon=POLYGONS["berth_polygon"])
    truth = pd.read_csv(AIS / "kestrel_bay_truth.csv", parse_dates=["arrival", "berth_start", "berth_end"])
    assert len(calls) == len(truth) == 64
    decoys = {211000111, 244999001}   # a tanker passing at 11 kn; a fishing boat outside the limits
    assert not decoys & set(calls["mmsi"])
    merged = calls.assign(arrival=calls["arrival"].dt.tz_localize(None)).merge(
        truth, on=["mmsi", "arrival"], how="inner", suffixes=("", "_truth"))
    assert len(merged) == 64                                        # each arrival found to the second
    start_error = (merged["berth_start"].dt.tz_localize(None) - merged["berth_start_truth"]).abs()
    end_error = (merged["berth_end_truth"] - merged["berth_end"].dt.tz_localize(None))
    assert start_error.max() <= pd.Timedelta(minutes=20)            # reports come every 20 minutes
    assert pd.Timedelta(0) <= end_error.min() and end_error.max() <= pd.Timedelta(minutes=20)
    assert (calls.groupby("mmsi").size() > 1).any()                 # repeat visits are separate calls


def test_a_gap_over_24h_starts_a_new_call_and_a_shorter_gap_does_not() -> None:
    square = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]
    hours = [0, 1, 2, 12, 13, 13 + 24.5, 14 + 24.5, 60, 61]   # 10 h gap: same call; 24.5 h: new call
    sog = [0.2, 0.1, 0.0, 0.0, 0.3, 0.1, 0.0, 8.0, 4.9]        # 8 kn: moving, not in port
    lat = [0.5] * 8 + [1.5]                                   # last report outside the polygon
    positions = pd.DataFrame({
        "mmsi": 123456789, "time": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(hours, "h"),
        "lat": lat, "lon": 0.5, "sog_kn": sog, "vessel_name": "TEST", "vessel_type": 70, "length_m": 200})
    calls = port_calls(positions, square)
    assert port_calls(positions, square, vessel_types=(80, 89)).empty      # a cargo ship, not a tanker
    assert len(port_calls(positions, square, vessel_types=(70, 79))) == 2
    assert list(calls["call"]) == [1, 2]
    assert list(calls["port_hours"]) == [13.0, 1.0]
    assert list(calls["pings"]) == [5, 2]
    assert calls["berth_hours"].isna().all()                 # no berth polygon given


def test_points_in_polygon_even_odd_rule() -> None:
    l_shape = [(0, 0), (0, 2), (1, 2), (1, 1), (2, 1), (2, 0)]
    inside = points_in_polygon([0.5, 1.5, 1.5, 0.5, -0.1], [0.5, 0.5, 1.5, 1.5, 0.5], l_shape)
    assert inside.tolist() == [True, True, False, True, False]
    with pytest.raises(ValueError, match="at least 3"):
        points_in_polygon([0], [0], [(0, 0), (1, 1)])


def test_arrival_statistics_recover_a_poisson_process() -> None:
    rng = np.random.default_rng(5)
    arrivals = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(rng.exponential(4.0, 400)), "h")
    berth = rng.lognormal(np.log(12.0), 0.3, 400)
    calls = pd.DataFrame({"arrival": arrivals, "port_hours": berth + 1.0, "anchorage_wait_h": 1.0,
                          "berth_hours": berth})
    table = arrival_statistics(calls)
    row = table.loc["interarrival_h"]
    assert row["best"] == "exponential" and row["ks_p_exponential"] > 0.05
    assert row["mean"] == pytest.approx(4.0, rel=0.12) and row["cv"] == pytest.approx(1.0, abs=0.12)
    assert row["rate_per_day"] == pytest.approx(24 / row["mean"])
    assert table.loc["berth_hours", "best"] == "lognormal"      # clearly not exponential
    assert fit_renewal([3.0])["n"] == 1.0 and np.isnan(fit_renewal([3.0])["cv"])


def test_unreadable_files_are_feed_errors_but_bad_rows_never_are(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not found"):
        read_ais(tmp_path / "missing.csv")
    (tmp_path / "no_position.csv").write_text("MMSI,BaseDateTime,SOG\n123456789,2026-01-01T00:00:00,1\n")
    with pytest.raises(FeedError, match="missing column.*LAT, LON"):
        read_ais(tmp_path / "no_position.csv")
    with pytest.raises(FeedError, match="unknown AIS file kind"):
        read_ais(tmp_path / "positions.xlsx")
    every_row_bad = tmp_path / "bad.csv"
    every_row_bad.write_text(",".join(CSV_COLUMNS) + "\n" + "x,y,z\n" + ",".join(["bad"] * 17) + "\n")
    data = read_ais(every_row_bad)
    assert data.positions.empty and data.quarantined == 2 and data.records_read == 2
    garbage = tmp_path / "noise.nmea"
    garbage.write_bytes(b"\x00\xff not nmea at all\n\n!AIVDM,1,1,,A,zzzzzzzzzzzz,0*00\n")
    data = read_ais(garbage)
    assert data.positions.empty and data.quarantined == 2


def test_sample_generator_is_deterministic(tmp_path: Path) -> None:
    import runpy

    module = runpy.run_path(str(AIS / "make_sample.py"))
    module["main"](tmp_path)
    for name in ("kestrel_bay.csv", "kestrel_bay.nmea", "kestrel_bay_truth.csv", "kestrel_bay_port.yaml"):
        assert filecmp.cmp(tmp_path / name, AIS / name, shallow=False), name

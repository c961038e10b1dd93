"""Make the AIS sample of the fictional container port of Kestrel Bay (deterministic).

The files are the project's own, made by simulating a three-berth port for 14 days (Poisson
arrivals, lognormal berth times, FIFO anchorage) and writing every vessel's track as AIS would
report it: approaching at sea speed, waiting at the anchorage, shifting to the quay, lying at the
berth, leaving. Two decoy vessels never call (a tanker passing through at speed and a fishing boat
drifting outside the port limits), one call has a 10-hour transponder gap inside it (still one
call) and several vessels call twice more than 24 hours apart (two calls each).

Writes, next to this script:

- ``kestrel_bay.csv``: MarineCadastre-style CSV of all 14 days, with 8 deliberately malformed rows;
- ``kestrel_bay.nmea``: the first 3 days as raw ``!AIVDM`` sentences (encoded with pyais; receiver
  time in each line's ``c:`` tag block; a type 5 static report per vessel), with 6 deliberately
  malformed lines;
- ``kestrel_bay_truth.csv``: the simulated calls (arrival, berth start and end) to check derived
  port calls against;
- ``kestrel_bay_port.yaml``: the port and quay polygons.

Run ``python scenarios/data/ais/make_sample.py`` (or ``--out DIR``); the same files come out every time.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from pyais.encode import encode_dict
from pyais.util import checksum

SEED = 20260302
START = datetime(2026, 3, 2, tzinfo=timezone.utc)
DAYS = 14
NMEA_DAYS = 3
BERTHS = [(51.9350, 4.0900), (51.9350, 4.1050), (51.9350, 4.1200)]
ANCHORAGE = (51.9650, 3.9900)
SEA = (51.9900, 3.6000)
PORT_POLYGON = [(51.90, 3.95), (52.00, 3.95), (52.00, 4.15), (51.90, 4.15), (51.88, 4.05)]
BERTH_POLYGON = [(51.925, 4.08), (51.945, 4.08), (51.945, 4.13), (51.925, 4.13)]
MEAN_INTERARRIVAL_H = 5.0
MEAN_BERTH_H, CV_BERTH = 12.0, 0.35
HEADER = ["MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO",
          "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo", "TransceiverClass"]
NAMES = ["KESTREL STAR", "NORDIC DAWN", "BLUE HERON", "CAPE MERIDIAN", "ATLANTIC WREN", "SILVER TERN",
         "HANSA PRIDE", "MAERSK ALBA", "OCEAN LARK", "BALTIC ROSE", "PACIFIC GULL", "IRON PETREL",
         "GOLDEN OSPREY", "NORTH SWIFT", "CORAL CRANE", "EVER KITE", "DELTA PLOVER", "AMBER DIPPER",
         "CELTIC SKUA", "RIVER AUK", "SEA MERLIN", "STORM FULMAR", "ARCTIC EIDER", "WESTERN JAY",
         "LUNA CORMORANT", "TASMAN HAWK", "IBERIA SNIPE", "POLAR GANNET"]


def _vessels(rng: np.random.Generator) -> list[dict]:
    vessels = []
    for i, name in enumerate(NAMES):
        length = int(rng.choice([200, 230, 260, 300, 335, 366]))
        vessels.append({"mmsi": 244000000 + 1117 * (i + 1), "name": name, "imo": 9300000 + 7919 * (i + 1),
                        "callsign": f"PK{i + 11:02d}", "type": 71 if i % 5 else 70, "length": length,
                        "width": length // 7, "draft": round(float(rng.uniform(9.0, 14.5)), 1)})
    return vessels


def _simulate_calls(rng: np.random.Generator, vessels: list[dict]) -> list[dict]:
    """A three-berth FIFO port: arrival, berth start and end per call (hours from START)."""
    horizon = DAYS * 24.0
    sigma = np.sqrt(np.log1p(CV_BERTH**2))
    mu = np.log(MEAN_BERTH_H) - sigma**2 / 2
    free_at = [0.0] * len(BERTHS)
    last_seen = {v["mmsi"]: -1e9 for v in vessels}
    calls, t = [], 0.0
    while True:
        t += rng.exponential(MEAN_INTERARRIVAL_H)
        if t > horizon - 30:
            break
        ready = [v for v in vessels if t - last_seen[v["mmsi"]] > 40.0]
        vessel = ready[int(rng.integers(len(ready)))]
        berth = int(np.argmin(free_at))
        start = max(t, free_at[berth])
        end = start + float(rng.lognormal(mu, sigma))
        free_at[berth] = end + 0.5
        last_seen[vessel["mmsi"]] = end
        calls.append({"vessel": vessel, "arrival_h": t, "berth": berth, "berth_start_h": start,
                      "berth_end_h": end})
    return calls


def _lerp(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def _track(call: dict, rng: np.random.Generator, gap: bool) -> list[tuple[float, float, float, float, int]]:
    """(hour, lat, lon, sog_kn, status) reports of one call: approach, anchorage, berth, departure."""
    pings = []
    arrive, b0, b1 = call["arrival_h"], call["berth_start_h"], call["berth_end_h"]
    berth = BERTHS[call["berth"]]
    waits = b0 - arrive > 0.75
    stop = ANCHORAGE if waits else berth
    for k in range(6, 0, -1):  # approach: 3 h at sea speed, every 30 min
        pings.append((arrive - 0.5 * k, *_lerp(SEA, stop, 1 - k / 6), 13.0 + rng.uniform(-1, 1), 0))
    if waits:
        t = arrive
        while t < b0 - 0.5:
            lat, lon = ANCHORAGE
            pings.append((t, lat + rng.normal(0, 0.002), lon + rng.normal(0, 0.003), rng.uniform(0, 0.6), 1))
            t += 1 / 3
        pings.append((b0 - 0.25, *_lerp(ANCHORAGE, berth, 0.5), 6.5, 0))  # shifting to the quay
    t = b0 if waits else arrive
    silent = (t + 2.0, t + 12.0) if gap else (np.inf, np.inf)
    while t <= b1:
        if not silent[0] <= t < silent[1]:
            pings.append((t, berth[0] + rng.normal(0, 0.0002), berth[1] + rng.normal(0, 0.0002), 0.0, 5))
        t += 1 / 3
    for k in range(1, 5):  # departure: 2 h back to sea
        pings.append((b1 + 0.5 * k, *_lerp(berth, SEA, k / 4), 10.0 + rng.uniform(0, 2), 0))
    return pings


def _decoys(rng: np.random.Generator) -> list[tuple[dict, list]]:
    tanker = {"mmsi": 211000111, "name": "RHINE PASSAGE", "imo": 9211111, "callsign": "DRPX", "type": 80,
              "length": 180, "width": 28, "draft": 9.1}
    fisher = {"mmsi": 244999001, "name": "KB 17 ZEEMEEUW", "imo": 0, "callsign": "PFKB", "type": 30,
              "length": 38, "width": 8, "draft": 4.0}
    west, east = (51.95, 3.80), (51.95, 4.30)
    tracks = []
    for day in range(DAYS):  # the tanker crosses the port limits at 11 knots every day
        t0 = 24.0 * day + 9.0
        tracks.append((tanker, [(t0 + 0.25 * k, *_lerp(west, east, k / 12), 11.0 + rng.uniform(-0.5, 0.5), 0)
                                for k in range(13)]))
    drift = [(2.0 * k, 51.85 + rng.normal(0, 0.003), 3.80 + rng.normal(0, 0.004), rng.uniform(0, 2.5), 7)
             for k in range(DAYS * 12)]  # fishing just outside the limits, slowly
    tracks.append((fisher, drift))
    return tracks


def _rows(calls: list[dict], rng: np.random.Generator) -> list[tuple[float, dict, tuple]]:
    gap_call = min(range(len(calls)), key=lambda i: abs(calls[i]["berth_end_h"] - calls[i]["berth_start_h"] - 16))
    reports = []
    for i, call in enumerate(calls):
        for ping in _track(call, rng, gap=(i == gap_call)):
            reports.append((ping[0], call["vessel"], ping))
    for vessel, track in _decoys(rng):
        reports += [(p[0], vessel, p) for p in track]
    reports = [r for r in reports if 0.0 <= r[0] < DAYS * 24]
    reports.sort(key=lambda r: (r[0], r[1]["mmsi"]))
    return reports


def _stamp(hour: float) -> datetime:
    return START + timedelta(seconds=round(hour * 3600))


def _csv_row(hour: float, vessel: dict, ping: tuple, rng: np.random.Generator) -> list[str]:
    _, lat, lon, sog, status = ping
    heading = "511" if rng.random() < 0.2 or sog < 0.1 else str(int(rng.integers(0, 360)))
    cog = f"{rng.uniform(0, 360):.1f}" if sog >= 0.1 else "360.0"
    return [str(vessel["mmsi"]), _stamp(hour).strftime("%Y-%m-%dT%H:%M:%S"), f"{lat:.5f}", f"{lon:.5f}",
            f"{sog:.1f}", cog, heading, vessel["name"], f"IMO{vessel['imo']}" if vessel["imo"] else "",
            vessel["callsign"], str(vessel["type"]), str(status), str(vessel["length"]), str(vessel["width"]),
            f"{vessel['draft']:.1f}", str(vessel["type"]), "A"]


def _malformed_csv(rows: list[list[str]]) -> list[tuple[int, list[str]]]:
    """Eight broken rows (and where they go), each a different fault."""
    base = rows[100]
    faults = [
        (150, [*base[:0], "24400AB17", *base[1:]]),                          # MMSI with letters
        (300, [base[0], "2026-03-05T25:61:00", *base[2:]]),                 # impossible time
        (450, [*base[:2], "91.50000", *base[3:]]),                          # latitude off the globe
        (600, [*base[:3], "", *base[4:]]),                                  # longitude missing
        (750, [*base[:4], "fast", *base[5:]]),                              # speed not a number
        (900, base[:9]),                                                    # truncated row
        (1050, [*base, "EXTRA"]),                                           # one field too many
        (1200, [*base[:4], "102.3", *base[5:]]),                            # speed "not available"
    ]
    return faults


def write_csv(reports: list, rng: np.random.Generator, out: Path) -> None:
    rows = [_csv_row(hour, vessel, ping, rng) for hour, vessel, ping in reports]
    for position, row in reversed(_malformed_csv(rows)):
        rows.insert(position, row)
    with (out / "kestrel_bay.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def _tag(hour: float) -> str:
    body = f"s:KESTREL,c:{int(_stamp(hour).timestamp())}"
    return f"\\{body}*{checksum(body.encode()):02X}\\"


def _static_lines(vessel: dict, seq: int) -> list[str]:
    return encode_dict({"type": 5, "mmsi": vessel["mmsi"], "imo": vessel["imo"], "callsign": vessel["callsign"],
                        "shipname": vessel["name"], "ship_type": vessel["type"], "to_bow": vessel["length"] - 40,
                        "to_stern": 40, "to_port": vessel["width"] // 2,
                        "to_starboard": vessel["width"] - vessel["width"] // 2, "draught": vessel["draft"],
                        "destination": "KESTREL BAY"}, talker_id="AI", sentence_type="VDM",
                       radio_channel="A", seq_id=seq)


def _position_line(hour: float, vessel: dict, ping: tuple, rng: np.random.Generator) -> str:
    _, lat, lon, sog, status = ping
    heading = 511 if sog < 0.1 else int(rng.integers(0, 360))
    (line,) = encode_dict({"type": 1, "mmsi": vessel["mmsi"], "status": status, "speed": round(sog, 1),
                           "lat": round(lat, 5), "lon": round(lon, 5), "course": round(float(rng.uniform(0, 359)), 1),
                           "heading": heading, "second": _stamp(hour).second},
                          talker_id="AI", sentence_type="VDM", radio_channel="B")
    return line


def _with_checksum(body: str) -> str:
    return f"!{body}*{checksum(body.encode()):02X}"


def write_nmea(reports: list, rng: np.random.Generator, out: Path) -> None:
    lines, seen, seq = [], set(), 0
    for hour, vessel, ping in reports:
        if hour >= NMEA_DAYS * 24:
            break
        if vessel["mmsi"] not in seen:
            seen.add(vessel["mmsi"])
            lines += [_tag(hour) + part for part in _static_lines(vessel, seq % 10)]
            seq += 1
        lines.append(_tag(hour) + _position_line(hour, vessel, ping, rng))
    good = lines[40]
    sentence = good.split("\\")[-1]
    truncated = _with_checksum(sentence[1:].split(",")[0] + ",1,1,,B," + sentence.split(",")[5][:10] + ",0")
    orphan = next(line for line in lines if ",2,2," in line)
    faults = [
        (60, "this is not an AIS sentence at all"),                                    # garbage
        (120, good[:-2] + ("00" if not good.endswith("00") else "11")),                # bad checksum
        (180, _tag(1.0) + truncated),                                                  # payload cut short
        (240, orphan),                                                                 # fragment without its first part
        (300, sentence),                                                               # no tag block: no time
        (360, "!AIVDM,1"),                                                             # too short
    ]
    for position, line in reversed(faults):
        lines.insert(position, line)
    (out / "kestrel_bay.nmea").write_text("\n".join(lines) + "\n", encoding="ascii")


def write_truth(calls: list[dict], out: Path) -> None:
    with (out / "kestrel_bay_truth.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["mmsi", "vessel_name", "arrival", "berth_start", "berth_end", "berth"])
        for call in calls:
            writer.writerow([call["vessel"]["mmsi"], call["vessel"]["name"],
                             *(_stamp(call[k]).strftime("%Y-%m-%dT%H:%M:%S")
                               for k in ("arrival_h", "berth_start_h", "berth_end_h")),
                             f"B{call['berth'] + 1}"])


def write_polygons(out: Path) -> None:
    def fmt(polygon: list[tuple[float, float]]) -> str:
        return "[" + ", ".join(f"[{lat}, {lon}]" for lat, lon in polygon) + "]"
    (out / "kestrel_bay_port.yaml").write_text(
        "# Kestrel Bay (fictional): port limits (incl. the anchorage) and the container quay, [lat, lon].\n"
        f"port_polygon: {fmt(PORT_POLYGON)}\n"
        f"berth_polygon: {fmt(BERTH_POLYGON)}\n", encoding="utf-8")


def main(out: Path) -> None:
    """Write the four sample files into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    vessels = _vessels(rng)
    calls = _simulate_calls(rng, vessels)
    reports = _rows(calls, rng)
    write_csv(reports, np.random.default_rng([SEED, 1]), out)
    write_nmea(reports, np.random.default_rng([SEED, 2]), out)
    write_truth(calls, out)
    write_polygons(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    main(parser.parse_args().out)

"""AIS vessel positions -> port calls -> vessel arrival statistics.

Reads MarineCadastre-style CSV (one position report a row) and raw NMEA 0183 (``!AIVDM`` sentences,
decoded with pyais, timestamps from the receiver's ``c:`` tag block). Both give the same table of
positions; :func:`port_calls` then finds each vessel's calls at a port (speed under 5 knots inside
the port polygon; a silence of more than 24 hours starts a new call) and :func:`arrival_statistics`
summarises interarrival and service times for a port model.

A malformed row is never fatal: it is kept in the result's ``quarantine`` table with its line number,
its raw text and the reason, and counted. Only a file that cannot be read at all (missing, or
without the columns it needs) raises :class:`~twinworld.errors.FeedError`.

Examples
--------
>>> from twinworld.feeds.ais import read_ais, port_calls
>>> data = read_ais("scenarios/data/ais/kestrel_bay.csv")                      # doctest: +SKIP
>>> calls = port_calls(data.positions, KESTREL_BAY_POLYGON)         # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from twinworld.errors import FeedError
from twinworld.feeds.safe_files import check_file
from twinworld.limits import MAX_AIS_FILE_BYTES

__all__ = ["CSV_COLUMNS", "POSITION_COLUMNS", "AISData", "read_ais", "read_ais_csv", "read_ais_nmea",
           "points_in_polygon", "port_calls", "arrival_statistics", "fit_renewal"]

#: MarineCadastre's column names, in their file order.
CSV_COLUMNS = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO",
               "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo",
               "TransceiverClass")
_REQUIRED = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG")
#: The columns of :attr:`AISData.positions` (units in the names; time is UTC).
POSITION_COLUMNS = ("mmsi", "time", "lat", "lon", "sog_kn", "cog_deg", "heading_deg", "vessel_name",
                    "imo", "call_sign", "vessel_type", "status", "length_m", "width_m", "draft_m",
                    "cargo", "transceiver_class")
_RENAME = dict(zip(CSV_COLUMNS, POSITION_COLUMNS))
_QUARANTINE_COLUMNS = ["line", "reason", "raw"]


@dataclass
class AISData:
    """What an AIS file gave: good positions and the quarantined rest.

    Attributes
    ----------
    positions
        One row per position report, columns :data:`POSITION_COLUMNS`, sorted by MMSI and time.
    quarantine
        One row per malformed record: ``line`` (1-based line of the file), ``reason``, ``raw`` text.
    records_read
        Records looked at (CSV data rows; NMEA lines that were not blank).
    source
        The file read.
    """

    positions: pd.DataFrame
    quarantine: pd.DataFrame
    records_read: int
    source: str = ""
    vessels: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def quarantined(self) -> int:
        """How many records were quarantined."""
        return len(self.quarantine)

    def reasons(self) -> dict[str, int]:
        """Quarantined records counted by reason (the reason's text up to its first colon)."""
        if self.quarantine.empty:
            return {}
        keys = self.quarantine["reason"].str.split(":", n=1).str[0]
        return {str(k): int(v) for k, v in keys.value_counts().sort_index().items()}


def read_ais(path: str | Path, *, format: str | None = None) -> AISData:  # noqa: A002
    """Read an AIS file, choosing the reader by ``format`` or the suffix (``.csv``; ``.nmea``/``.txt``).

    Raises
    ------
    FeedError
        The file is missing, of an unknown kind, or lacks the columns it needs.
    """
    path = Path(path)
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind == "csv":
        return read_ais_csv(path)
    if kind in ("nmea", "txt", "ais", "log"):
        return read_ais_nmea(path)
    raise FeedError(f"{path.name}: unknown AIS file kind {kind!r}; use .csv (MarineCadastre) or "
                    f".nmea (raw !AIVDM sentences), or say format: csv | nmea")


# ------------------------------------------------------------------------------------ CSV --
def read_ais_csv(path: str | Path) -> AISData:
    """Read a MarineCadastre-style CSV of AIS position reports.

    Rows with the wrong number of fields, an MMSI that is not 9 digits, an unreadable time, a
    position off the globe or a speed that is not a number (or is AIS's 102.3 "not available") are
    quarantined. ``Heading`` 511 and ``COG`` 360 mean "not available" and become NaN.

    Raises
    ------
    FeedError
        The file is missing or its header lacks MMSI, BaseDateTime, LAT, LON or SOG.
    """
    path = check_file(path, max_bytes=MAX_AIS_FILE_BYTES, what="AIS file")
    rows, lines, bad = [], [], []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise FeedError(f"{path.name}: empty file; expected a header {','.join(CSV_COLUMNS)}")
        header = [h.strip() for h in header]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise FeedError(f"{path.name}: missing column(s) {', '.join(missing)}; a MarineCadastre "
                            f"file has {','.join(CSV_COLUMNS)}")
        width = len(header)
        for record in reader:
            if not record:
                continue
            if len(record) != width:
                if not any(f.strip() for f in record):
                    continue
                bad.append((reader.line_num, f"wrong field count: {len(record)} fields, header has {width}",
                            ",".join(record)))
                continue
            rows.append(record)
            lines.append(reader.line_num)
    table = pd.DataFrame(rows, columns=header, dtype=str)
    for column in CSV_COLUMNS:
        if column not in table:
            table[column] = ""
    table = table[list(CSV_COLUMNS)].rename(columns=_RENAME)
    table["line"] = np.asarray(lines, dtype=np.int64)
    positions, quarantined = _clean(table)
    quarantine = pd.concat([pd.DataFrame(bad, columns=_QUARANTINE_COLUMNS), quarantined],
                           ignore_index=True).sort_values("line", kind="stable", ignore_index=True)
    return AISData(positions, quarantine, records_read=len(rows) + len(bad), source=str(path))


def _numeric(series: pd.Series) -> pd.Series:
    """Numbers from text; blanks and anything unreadable become NaN (surrounding spaces are fine)."""
    return pd.to_numeric(series, errors="coerce")


def _clean(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type the raw string columns; return (good positions, quarantined rows)."""
    mmsi_text = table["mmsi"].str.strip()
    time = pd.to_datetime(table["time"].str.strip(), errors="coerce", utc=True, format="ISO8601")
    lat, lon, sog = _numeric(table["lat"]), _numeric(table["lon"]), _numeric(table["sog_kn"])
    checks = [
        (~mmsi_text.str.fullmatch(r"\d{9}"), lambda i: f"bad MMSI: {mmsi_text.iat[i]!r} is not 9 digits"),
        (time.isna(), lambda i: f"bad time: {table['time'].iat[i]!r} is not YYYY-MM-DDTHH:MM:SS"),
        (~lat.between(-90, 90), lambda i: f"bad position: LAT {table['lat'].iat[i]!r} is not in -90..90"),
        (~lon.between(-180, 180), lambda i: f"bad position: LON {table['lon'].iat[i]!r} is not in -180..180"),
        (~sog.between(0, 102.2), lambda i: f"bad speed: SOG {table['sog_kn'].iat[i]!r} is not 0..102.2 knots"),
    ]
    reasons: dict[int, str] = {}
    for failed, message in checks:
        for i in np.flatnonzero(failed.to_numpy()):
            reasons.setdefault(int(i), message(int(i)))
    bad_index = np.fromiter(sorted(reasons), dtype=np.int64, count=len(reasons))
    quarantine = pd.DataFrame({"line": table["line"].to_numpy()[bad_index],
                               "reason": [reasons[i] for i in bad_index],
                               "raw": [",".join(table.iloc[i, :-1]) for i in bad_index]})
    good = np.ones(len(table), dtype=bool)
    good[bad_index] = False
    cog, heading = _numeric(table["cog_deg"]), _numeric(table["heading_deg"])
    out = pd.DataFrame({
        "mmsi": pd.to_numeric(mmsi_text.where(good, "0")).astype("int64"),
        "time": time, "lat": lat, "lon": lon, "sog_kn": sog,
        "cog_deg": cog.where((cog >= 0) & (cog < 360)),
        "heading_deg": heading.where((heading >= 0) & (heading < 360)),
        "vessel_name": table["vessel_name"].str.strip(),
        "imo": table["imo"].str.strip().str.removeprefix("IMO"),
        "call_sign": table["call_sign"].str.strip(),
        "vessel_type": _numeric(table["vessel_type"]),
        "status": _numeric(table["status"]),
        "length_m": _numeric(table["length_m"]), "width_m": _numeric(table["width_m"]),
        "draft_m": _numeric(table["draft_m"]), "cargo": _numeric(table["cargo"]),
        "transceiver_class": table["transceiver_class"].str.strip(),
    })[good]
    return _sorted(out), quarantine


def _sorted(positions: pd.DataFrame) -> pd.DataFrame:
    return positions.sort_values(["mmsi", "time"], kind="stable", ignore_index=True)


# ----------------------------------------------------------------------------------- NMEA --
class _LineGate:
    """pyais preprocessor: sees every line pyais reads, quarantines bad ones, passes the rest."""

    def __init__(self, line_numbers: list[int]) -> None:
        self._numbers = iter(line_numbers)
        self.current = 0
        self.current_raw = ""
        self.bad: list[tuple[int, str, str]] = []
        self.fragments: dict[int, tuple[str, str]] = {}   # line -> (group key, raw), not yet used

    def process(self, line: bytes) -> bytes:
        from pyais.exceptions import InvalidNMEAMessageException, UnknownMessageException
        from pyais.messages import NMEASentenceFactory

        self.current = next(self._numbers, self.current + 1)
        text = line.decode("ascii", errors="replace").strip()
        self.current_raw = text
        sentence = text.rsplit("\\", 1)[-1] if text.startswith("\\") else text
        if not sentence.startswith(("!", "$")):
            return self._reject(text, "not an NMEA sentence: does not start with ! or a tag block")
        try:
            parsed = NMEASentenceFactory.produce(sentence.encode())
        except (InvalidNMEAMessageException, UnknownMessageException, ValueError, IndexError) as err:
            return self._reject(text, f"unreadable sentence: {err}")
        if not parsed.is_valid:
            return self._reject(text, "bad checksum: the sentence's *hh does not match its content")
        frag_cnt = getattr(parsed, "frag_cnt", 1)
        if frag_cnt > 1:
            self.fragments[self.current] = (f"{getattr(parsed, 'seq_id', '')}/{frag_cnt}", text)
        return line

    def _reject(self, text: str, reason: str) -> bytes:
        self.bad.append((self.current, reason, text))
        return b""

    def used(self, frag_cnt: int, seq_id: Any) -> None:
        """A multi-part message of ``frag_cnt`` parts just completed: its fragments are used."""
        key = f"{seq_id if seq_id is not None else ''}/{frag_cnt}"
        mine = [n for n, (k, _) in self.fragments.items() if k == key][-frag_cnt:]
        for n in mine:
            del self.fragments[n]


def read_ais_nmea(path: str | Path) -> AISData:
    """Read raw AIS NMEA 0183 with pyais's ``FileReaderStream``.

    Position reports (types 1, 2, 3, 18, 19, 27) become rows of ``positions``; each needs a receiver
    timestamp in its tag block (``\\c:1700000000*hh\\!AIVDM,...``). Static reports (types 5 and 24)
    fill the vessel columns (name, IMO, call sign, type, length, width, draught) per MMSI. Lines that
    are not NMEA, fail their checksum, do not decode, lack a position or a timestamp, or are
    fragments of a multi-part message that never completes are quarantined.

    Raises
    ------
    FeedError
        The file is missing.
    """
    from pyais import FileReaderStream

    path = check_file(path, max_bytes=MAX_AIS_FILE_BYTES, what="AIS file")
    blank, short, numbers = _scan_lines(path)
    gate = _LineGate(numbers)
    positions: list[dict[str, Any]] = []
    statics: dict[int, dict[str, Any]] = {}
    for message in FileReaderStream(str(path), preprocessor=gate):
        line, raw = gate.current, gate.current_raw
        if message.frag_cnt > 1:
            gate.used(message.frag_cnt, message.seq_id)
        try:
            decoded = message.decode().asdict()
        except Exception as err:  # noqa: BLE001 - pyais raises many kinds on a corrupt payload
            gate.bad.append((line, f"undecodable payload: {type(err).__name__}: {err}", raw))
            continue
        reason = _take_message(decoded, message, positions, statics, line)
        if reason:
            gate.bad.append((line, reason, raw))
    bad = gate.bad + [(n, "too short to be an NMEA sentence", text) for n, text in short]
    bad += [(n, "incomplete multi-part message: the other fragment(s) never arrived", raw)
            for n, (_, raw) in gate.fragments.items()]
    quarantine = pd.DataFrame(bad, columns=_QUARANTINE_COLUMNS).sort_values(
        "line", kind="stable", ignore_index=True)
    table, vessels = _nmea_positions(positions, statics)
    return AISData(table, quarantine, records_read=len(numbers) + len(short), source=str(path),
                   vessels=vessels)


def _scan_lines(path: Path) -> tuple[int, list[tuple[int, str]], list[int]]:
    """Line numbers of the lines pyais will read (> 10 bytes) and the too-short non-blank ones."""
    blank, short, numbers = 0, [], []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if len(line) > 10:
                numbers.append(number)
            elif line.strip():
                short.append((number, line.decode("ascii", errors="replace").strip()))
            else:
                blank += 1
    return blank, short, numbers


_POSITION_TYPES = {1, 2, 3, 18, 19, 27}
_STATIC_TYPES = {5, 24}


def _take_message(decoded: dict[str, Any], message: Any, positions: list[dict[str, Any]],
                  statics: dict[int, dict[str, Any]], line: int) -> str:
    """File one decoded message; return a quarantine reason, or "" if it was taken."""
    msg_type = decoded.get("msg_type")
    mmsi = decoded.get("mmsi")
    if msg_type in _STATIC_TYPES:
        record = statics.setdefault(int(mmsi), {})
        for key, value in decoded.items():
            if value not in (None, "", 0) or key not in record:
                record[key] = value
        return ""
    if msg_type not in _POSITION_TYPES:
        return ""  # other message types carry nothing a port call needs; not an error
    lat, lon, speed = decoded.get("lat"), decoded.get("lon"), decoded.get("speed")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"bad position: lat {lat!r}, lon {lon!r} (91/181 mean not available)"
    if speed is None or not 0 <= speed <= 102.2:
        return f"bad speed: {speed!r} knots (102.3 means not available)"
    stamp = _receiver_time(message)
    if stamp is None:
        return "no timestamp: position report without a valid tag block c:<unix seconds>"
    course, heading = decoded.get("course"), decoded.get("heading")
    status = decoded.get("status")
    positions.append({"mmsi": int(mmsi), "time": stamp, "lat": float(lat), "lon": float(lon),
                      "sog_kn": float(speed),
                      "cog_deg": float(course) if course is not None and 0 <= course < 360 else np.nan,
                      "heading_deg": float(heading) if heading is not None and 0 <= heading < 360 else np.nan,
                      "status": float(int(status)) if status is not None else np.nan,
                      "transceiver_class": "B" if msg_type in (18, 19) else "A", "line": line})
    return ""


def _receiver_time(message: Any) -> pd.Timestamp | None:
    block = getattr(message, "tag_block", None)
    if block is None:
        return None
    try:
        block.init()
        if not block.is_valid:
            return None
        stamp = block.receiver_timestamp
        return pd.Timestamp(int(stamp), unit="s", tz="UTC") if stamp is not None else None
    except (ValueError, TypeError, OverflowError):
        return None


def _nmea_positions(positions: list[dict[str, Any]],
                    statics: dict[int, dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    vessels = pd.DataFrame([
        {"mmsi": mmsi, "vessel_name": str(s.get("shipname") or "").strip(),
         "imo": str(s.get("imo") or ""), "call_sign": str(s.get("callsign") or "").strip(),
         "vessel_type": float(int(s["ship_type"])) if s.get("ship_type") is not None else np.nan,
         "length_m": float((s.get("to_bow") or 0) + (s.get("to_stern") or 0)) or np.nan,
         "width_m": float((s.get("to_port") or 0) + (s.get("to_starboard") or 0)) or np.nan,
         "draft_m": float(s.get("draught") or np.nan)}
        for mmsi, s in sorted(statics.items())],
        columns=["mmsi", "vessel_name", "imo", "call_sign", "vessel_type", "length_m", "width_m", "draft_m"])
    table = pd.DataFrame(positions, columns=["mmsi", "time", "lat", "lon", "sog_kn", "cog_deg",
                                             "heading_deg", "status", "transceiver_class", "line"])
    table["time"] = pd.to_datetime(table["time"], utc=True)
    table = table.merge(vessels, on="mmsi", how="left")
    table["cargo"] = np.nan
    table["vessel_name"] = table["vessel_name"].fillna("")
    for column in ("imo", "call_sign"):
        table[column] = table[column].fillna("")
    return _sorted(table[list(POSITION_COLUMNS)].astype({"mmsi": "int64"})), vessels


# ---------------------------------------------------------------------------- port calls --
def points_in_polygon(lat: np.ndarray | Sequence[float], lon: np.ndarray | Sequence[float],
                      polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """Which points lie inside a polygon of ``(lat, lon)`` vertices (even-odd ray casting).

    Treats latitude and longitude as plane coordinates, which is exact enough for a port-sized area
    away from the poles and the antimeridian.
    """
    y = np.asarray(lat, dtype=float)
    x = np.asarray(lon, dtype=float)
    vertices = np.asarray(polygon, dtype=float)
    if vertices.ndim != 2 or vertices.shape[0] < 3 or vertices.shape[1] != 2:
        raise ValueError("a polygon needs at least 3 [lat, lon] vertices")
    inside = np.zeros(y.shape, dtype=bool)
    vy, vx = vertices[:, 0], vertices[:, 1]
    for i in range(len(vertices)):
        j = i - 1
        crosses = (vy[i] > y) != (vy[j] > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (vx[j] - vx[i]) * (y - vy[i]) / (vy[j] - vy[i]) + vx[i]
        inside ^= crosses & (x < x_cross)
    return inside


_CALL_COLUMNS = ["mmsi", "call", "vessel_name", "vessel_type", "length_m", "arrival", "departure",
                 "port_hours", "pings", "berth_start", "berth_end", "anchorage_wait_h", "berth_hours"]


def port_calls(positions: pd.DataFrame, port_polygon: Sequence[Sequence[float]], *,
               berth_polygon: Sequence[Sequence[float]] | None = None, speed_below_kn: float = 5.0,
               new_call_gap_h: float = 24.0,
               vessel_types: tuple[float, float] | None = None) -> pd.DataFrame:
    """Port calls: runs of slow position reports inside the port polygon, per vessel.

    A vessel is *in port* at a report if it is inside ``port_polygon`` and its speed over ground is
    under ``speed_below_kn``. Its in-port reports, in time order, form one call until two of them
    are more than ``new_call_gap_h`` apart; then a new call starts. With ``berth_polygon`` (the
    quay), each call is split into anchorage wait (arrival to the first in-port report at the quay)
    and berth time (first to last report at the quay).

    Returns
    -------
    pandas.DataFrame
        One row per call, ordered by arrival: ``mmsi``, ``call`` (1, 2, ... per vessel),
        ``vessel_name``, ``vessel_type``, ``length_m``, ``arrival``, ``departure`` (first and last
        in-port report, UTC), ``port_hours``, ``pings``, and with a berth polygon ``berth_start``,
        ``berth_end``, ``anchorage_wait_h`` and ``berth_hours`` (NaN when the vessel never reached
        the quay).
    """
    if vessel_types is not None:
        kind = positions["vessel_type"]
        positions = positions[kind.isna() | kind.between(*vessel_types)]
    slow = positions["sog_kn"].to_numpy() < speed_below_kn
    inside = points_in_polygon(positions["lat"].to_numpy(), positions["lon"].to_numpy(), port_polygon)
    in_port = positions[slow & inside].sort_values(["mmsi", "time"], kind="stable")
    if in_port.empty:
        return pd.DataFrame(columns=_CALL_COLUMNS)
    at_quay = (points_in_polygon(in_port["lat"].to_numpy(), in_port["lon"].to_numpy(), berth_polygon)
               if berth_polygon is not None else np.zeros(len(in_port), dtype=bool))
    in_port = in_port.assign(at_quay=at_quay)
    gap = in_port.groupby("mmsi")["time"].diff() > pd.Timedelta(hours=new_call_gap_h)
    in_port["call"] = gap.groupby(in_port["mmsi"]).cumsum().astype(int) + 1
    groups = in_port.groupby(["mmsi", "call"], sort=False)
    calls = groups.agg(vessel_name=("vessel_name", "last"), vessel_type=("vessel_type", "last"),
                       length_m=("length_m", "last"), arrival=("time", "min"),
                       departure=("time", "max"), pings=("time", "size")).reset_index()
    quay = in_port[in_port["at_quay"]].groupby(["mmsi", "call"])["time"].agg(["min", "max"])
    quay.columns = ["berth_start", "berth_end"]
    calls = calls.merge(quay, on=["mmsi", "call"], how="left")
    hours = pd.Timedelta(hours=1)
    calls["port_hours"] = (calls["departure"] - calls["arrival"]) / hours
    calls["anchorage_wait_h"] = (calls["berth_start"] - calls["arrival"]) / hours
    calls["berth_hours"] = (calls["berth_end"] - calls["berth_start"]) / hours
    return calls[_CALL_COLUMNS].sort_values(["arrival", "mmsi"], ignore_index=True)


# --------------------------------------------------------------------- arrival statistics --
def fit_renewal(samples: Iterable[float]) -> dict[str, float | str]:
    """Summarise positive durations and fit exponential and lognormal distributions to them.

    Returns the count, mean, standard deviation, coefficient of variation, median and 95th
    percentile, the Kolmogorov-Smirnov p-value of an exponential with the sample mean, and
    ``best``: ``"exponential"`` unless that test rejects it at 5% (then ``"lognormal"``, fitted by
    its mean and standard deviation).
    """
    values = np.asarray([v for v in samples if np.isfinite(v) and v > 0], dtype=float)
    if values.size < 2:
        return {"n": float(values.size), "mean": float(values.mean()) if values.size else np.nan,
                "sd": np.nan, "cv": np.nan, "p50": np.nan, "p95": np.nan,
                "ks_p_exponential": np.nan, "best": "exponential"}
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    ks = stats.kstest(values, "expon", args=(0, mean))
    return {"n": float(values.size), "mean": mean, "sd": sd, "cv": sd / mean,
            "p50": float(np.median(values)), "p95": float(np.percentile(values, 95)),
            "ks_p_exponential": float(ks.pvalue),
            "best": "exponential" if ks.pvalue >= 0.05 else "lognormal"}


def arrival_statistics(calls: pd.DataFrame) -> pd.DataFrame:
    """Interarrival, port-time, anchorage-wait and berth-time statistics of derived port calls.

    Returns
    -------
    pandas.DataFrame
        Indexed by quantity (``interarrival_h``, ``port_hours``, ``anchorage_wait_h``,
        ``berth_hours``) with the columns of :func:`fit_renewal` plus ``rate_per_day`` (calls per
        day, from the mean interarrival time) on the interarrival row.
    """
    arrivals = np.sort(pd.to_datetime(calls["arrival"], utc=True).to_numpy())
    interarrival = np.diff(arrivals) / np.timedelta64(1, "h") if arrivals.size > 1 else np.empty(0)
    rows = {"interarrival_h": fit_renewal(interarrival),
            "port_hours": fit_renewal(calls["port_hours"].astype(float)),
            "anchorage_wait_h": _describe_nonnegative(calls["anchorage_wait_h"].astype(float)),
            "berth_hours": fit_renewal(calls["berth_hours"].astype(float))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["rate_per_day"] = np.nan
    mean = table.at["interarrival_h", "mean"]
    if np.isfinite(mean) and mean > 0:
        table.at["interarrival_h", "rate_per_day"] = 24.0 / mean
    return table


def _describe_nonnegative(values: pd.Series) -> dict[str, float | str]:
    """Waits may be 0: summarise without a distribution fit."""
    arr = values[np.isfinite(values)].to_numpy()
    if arr.size == 0:
        return {"n": 0.0, "mean": np.nan, "sd": np.nan, "cv": np.nan, "p50": np.nan, "p95": np.nan,
                "ks_p_exponential": np.nan, "best": ""}
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1)) if arr.size > 1 else np.nan
    return {"n": float(arr.size), "mean": mean, "sd": sd, "cv": sd / mean if mean > 0 else np.nan,
            "p50": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
            "ks_p_exponential": np.nan, "best": ""}

"""Bed census CSV: ``hospital,ward_occupied,icu_occupied`` -> occupied beds per hospital."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from twinworld.errors import FeedError
from twinworld.feeds.safe_files import read_text
from twinworld.limits import MAX_CENSUS_CSV_BYTES

__all__ = ["read_census_csv", "CENSUS_COLUMNS"]

CENSUS_COLUMNS = ("hospital", "ward_occupied", "icu_occupied")
_MAX_LISTED = 20


def read_census_csv(path: str | Path, *, hospitals: list[str],
                    beds: Mapping[str, tuple[int, int]] | None = None) -> dict[str, tuple[int, int]]:
    """Read a census file; every bad row is named in one error (by line, never by its content).

    Parameters
    ----------
    path
        The CSV file (header required, UTF-8, at most ``MAX_CENSUS_CSV_BYTES``).
    hospitals
        Names the scenario knows; rows for other hospitals are errors.
    beds
        Optional hospital -> (ward beds, ICU beds): a census above them is an error.

    Returns
    -------
    dict
        hospital -> (ward beds occupied, ICU beds occupied).

    Raises
    ------
    FeedError
        Not a regular UTF-8 file within the size limit; missing columns; or rows with unknown
        hospitals, non-integer or negative counts, repeats, or more patients than beds.
    """
    path = Path(path)
    text = read_text(path, max_bytes=MAX_CENSUS_CSV_BYTES, what="census CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames or []
    except csv.Error as err:
        raise FeedError(f"{path.name}: not a CSV file ({err.__class__.__name__} on line {reader.line_num})") from None
    missing = [c for c in CENSUS_COLUMNS if c not in fields]
    if missing:
        raise FeedError(f"{path.name}: missing column(s) {', '.join(missing)}; "
                        f"expected header {','.join(CENSUS_COLUMNS)}")
    census, bad = _rows(reader, set(hospitals), beds or {})
    if bad:
        shown = bad[:_MAX_LISTED] + ([f"... and {len(bad) - _MAX_LISTED} more"] if len(bad) > _MAX_LISTED else [])
        raise FeedError(f"{path.name}: {len(bad)} bad row(s):\n  " + "\n  ".join(shown))
    return census


def _rows(reader: csv.DictReader, known: set[str],
          beds: Mapping[str, tuple[int, int]]) -> tuple[dict[str, tuple[int, int]], list[str]]:
    census: dict[str, tuple[int, int]] = {}
    bad: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            name = (row.get("hospital") or "").strip()
            try:
                ward, icu = int(row["ward_occupied"] or ""), int(row["icu_occupied"] or "")
            except (TypeError, ValueError):
                bad.append(f"line {line}: ward_occupied and icu_occupied must be whole numbers")
                continue
            if name not in known:
                bad.append(f"line {line}: the hospital is not one of the scenario's hospitals")
            elif ward < 0 or icu < 0:
                bad.append(f"line {line}: counts must be >= 0")
            elif name in census:
                bad.append(f"line {line}: hospital {name!r} appears twice")
            elif name in beds and (ward > beds[name][0] or icu > beds[name][1]):
                bad.append(f"line {line}: {name} has {ward} ward and {icu} ICU patients but "
                           f"{beds[name][0]} ward and {beds[name][1]} ICU beds")
            else:
                census[name] = (ward, icu)
    except csv.Error as err:
        bad.append(f"line {reader.line_num}: not valid CSV ({err.__class__.__name__})")
    return census, bad

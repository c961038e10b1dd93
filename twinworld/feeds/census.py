"""Bed census CSV: ``hospital,ward_occupied,icu_occupied`` -> occupied beds per hospital."""

from __future__ import annotations

import csv
from pathlib import Path

from twinworld.errors import FeedError

__all__ = ["read_census_csv", "CENSUS_COLUMNS"]

CENSUS_COLUMNS = ("hospital", "ward_occupied", "icu_occupied")


def read_census_csv(path: str | Path, *, hospitals: list[str]) -> dict[str, tuple[int, int]]:
    """Read a census file; every bad row is named in one error.

    Parameters
    ----------
    path
        The CSV file (header required).
    hospitals
        Names the scenario knows; rows for other hospitals are errors.

    Returns
    -------
    dict
        hospital -> (ward beds occupied, ICU beds occupied).

    Raises
    ------
    FeedError
        Missing columns, or rows with unknown hospitals, non-integer or negative counts, or repeats;
        the message lists each bad row by its line number.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CENSUS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FeedError(f"{path.name}: missing column(s) {', '.join(missing)}; "
                            f"expected header {','.join(CENSUS_COLUMNS)}")
        census: dict[str, tuple[int, int]] = {}
        bad: list[str] = []
        for row in reader:
            line = reader.line_num
            name = (row.get("hospital") or "").strip()
            try:
                ward, icu = int(row["ward_occupied"]), int(row["icu_occupied"])
            except (TypeError, ValueError):
                bad.append(f"line {line}: counts must be whole numbers, got "
                           f"{row.get('ward_occupied')!r}, {row.get('icu_occupied')!r}")
                continue
            if name not in hospitals:
                bad.append(f"line {line}: unknown hospital {name!r} (known: {', '.join(hospitals)})")
            elif ward < 0 or icu < 0:
                bad.append(f"line {line}: counts must be >= 0")
            elif name in census:
                bad.append(f"line {line}: hospital {name!r} appears twice")
            else:
                census[name] = (ward, icu)
    if bad:
        raise FeedError(f"{path.name}: {len(bad)} bad row(s):\n  " + "\n  ".join(bad))
    return census

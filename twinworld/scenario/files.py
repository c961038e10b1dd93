"""The one resolver of a scenario's file references (census, AIS, OSM, grid cases, design CSV, ...).

A reference is a path relative to the scenario's ``data_dir``; it must stay inside it (after
following symbolic links), name a regular file (not a folder, FIFO or device) and be within the
size limit of its kind (:mod:`twinworld.limits`). ``data_dir`` itself must lie inside the
scenario's own folder, unless the user allows another root with ``--data-root DIR`` or the
``TWINWORLD_DATA_ROOT`` environment variable (folders separated by ``os.pathsep``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from twinworld.errors import FeedError, ScenarioError
from twinworld.feeds.safe_files import check_file, read_text
from twinworld.limits import (
    DATA_ROOT_ENV,
    MAX_AIS_FILE_BYTES,
    MAX_CENSUS_CSV_BYTES,
    MAX_DATA_FILE_BYTES,
    MAX_DESIGN_CSV_BYTES,
    MAX_GRID_CASE_BYTES,
    MAX_OSM_FILE_BYTES,
)

__all__ = ["FILE_KINDS", "ScenarioFiles", "data_roots_from_env"]

#: Kinds of file reference: (how messages name it, size limit in bytes).
FILE_KINDS: dict[str, tuple[str, int]] = {
    "census": ("census CSV", MAX_CENSUS_CSV_BYTES),
    "ais": ("AIS file", MAX_AIS_FILE_BYTES),
    "osm": ("OSM file", MAX_OSM_FILE_BYTES),
    "grid_case": ("grid case file", MAX_GRID_CASE_BYTES),
    "design_csv": ("design CSV", MAX_DESIGN_CSV_BYTES),
    "data": ("data file", MAX_DATA_FILE_BYTES),
}
_ALLOW_HINT = f"or allow a folder with --data-root DIR (or {DATA_ROOT_ENV})"


def data_roots_from_env() -> list[Path]:
    """Folders named by ``TWINWORLD_DATA_ROOT`` (``os.pathsep``-separated), empty ones ignored."""
    return [Path(p) for p in os.environ.get(DATA_ROOT_ENV, "").split(os.pathsep) if p.strip()]


def _shown(folder: Path) -> str:
    """A folder as a user would write it: relative to the working directory when inside it."""
    try:
        return str(folder.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(folder)


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or path.is_relative_to(f) for f in folders)


def _safe_text(reference: object) -> str:
    text = str(reference)
    return text if len(text) <= 80 else text[:77] + "..."


class ScenarioFiles:
    """Resolves file references of a scenario, refusing any that leave its data folder.

    Parameters
    ----------
    root
        The folder references must stay inside (the scenario's ``data_dir``, resolved).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @classmethod
    def for_scenario(cls, data_dir: str, *, scenario_dir: Path,
                     roots: Iterable[str | Path] = ()) -> ScenarioFiles:
        """The resolver of a scenario whose file sits in ``scenario_dir``.

        Raises
        ------
        ScenarioError
            ``data_dir`` lies outside ``scenario_dir`` and outside every allowed root.
        """
        if any(ord(ch) < 32 for ch in data_dir):
            raise ScenarioError.single("contains a control character", path="data_dir",
                                       valid="a folder path relative to the scenario file")
        home = Path(scenario_dir).resolve()
        folder = (home / data_dir).resolve()
        allowed = [home, *(Path(r).resolve() for r in [*roots, *data_roots_from_env()])]
        if not _inside(folder, allowed):
            raise ScenarioError.single(
                f"{_safe_text(data_dir)!r} lies outside the scenario's folder {_shown(home)}",
                path="data_dir", valid=f"a folder inside {_shown(home)}, {_ALLOW_HINT}")
        return cls(folder)

    def resolve(self, reference: str, *, path: str = "", kind: str = "data") -> Path:
        """The checked file of ``reference`` (relative to the data folder).

        Parameters
        ----------
        reference
            The path written in the scenario.
        path
            The field path for error messages (``census_csv``, ``source.file``).
        kind
            A key of :data:`FILE_KINDS`: sets the size limit and the wording of messages.

        Raises
        ------
        ScenarioError
            The reference leaves the data folder, does not exist, is a folder, FIFO or device,
            or exceeds its kind's size limit.
        """
        what, max_bytes = FILE_KINDS.get(kind, FILE_KINDS["data"])
        if not isinstance(reference, str) or not reference or any(ord(ch) < 32 for ch in reference):
            raise ScenarioError.single("a file reference must be a non-empty path without control "
                                       "characters", path=path, valid="a path inside data_dir")
        candidate = (self.root / reference).resolve()
        if not candidate.is_relative_to(self.root):
            raise ScenarioError.single(
                f"file reference {_safe_text(reference)!r} leaves the scenario's data folder {_shown(self.root)}",
                path=path, valid="a path inside data_dir")
        if not candidate.exists():
            raise ScenarioError.single(f"file {_safe_text(reference)!r} not found (looked in {_shown(self.root)})",
                                       path=path, valid="an existing file inside data_dir")
        try:
            return check_file(candidate, max_bytes=max_bytes, what=what)
        except FeedError as err:
            raise ScenarioError.single(str(err), path=path, valid="a regular file inside data_dir") from None

    def read_text(self, reference: str, *, path: str = "", kind: str = "data") -> str:
        """The UTF-8 text of a checked file reference (a wrong encoding is a clear error)."""
        file = self.resolve(reference, path=path, kind=kind)
        what, max_bytes = FILE_KINDS.get(kind, FILE_KINDS["data"])
        try:
            return read_text(file, max_bytes=max_bytes, what=what)
        except FeedError as err:
            raise ScenarioError.single(str(err), path=path) from None

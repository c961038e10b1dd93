"""Options and output helpers shared by the commands: data roots, large work, safe writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import typer

from twinworld.errors import output_error
from twinworld.limits import ALLOW_LARGE_ENV, DATA_ROOT_ENV

__all__ = ["allow_large_option", "data_root_option", "load", "make_folder", "writing"]

T = TypeVar("T")


def data_root_option() -> Any:
    return typer.Option([], "--data-root", help=f"Also let data_dir lie inside this folder "
                                                f"(repeatable; or {DATA_ROOT_ENV}).")


def allow_large_option() -> Any:
    return typer.Option(False, "--allow-large", help=f"Run even if a run or the sweep is estimated "
                                                     f"beyond the work limits (or {ALLOW_LARGE_ENV}=1).")


def load(scenario: Path, *, overrides: Iterable[str] = (), data_root: Iterable[Path] = (),
         allow_large: bool = False) -> Any:
    """``load_scenario`` with the command line's data roots and large-work switch."""
    from twinworld.scenario.loader import load_scenario

    return load_scenario(scenario, overrides=list(overrides), data_roots=list(data_root),
                         allow_large=True if allow_large else None)


def make_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) or raise a one-line :class:`~twinworld.errors.OutputError`."""
    if folder.exists() and not folder.is_dir():
        raise output_error(folder, NotADirectoryError(20, "a file is in the way, not a folder",
                                                      str(folder)), doing="write into")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(folder, err, doing="create") from err
    return folder


def writing(path: Path, write: Callable[[Path], T]) -> T:
    """Call ``write(path)``, turning an OSError into a one-line OutputError naming ``path``."""
    try:
        return write(path)
    except OSError as err:
        raise output_error(path, err) from err

"""Options and output helpers shared by the commands: data roots, large work, safe writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import typer

from twinworld.errors import output_error
from twinworld.limits import ALLOW_LARGE_ENV, DATA_ROOT_ENV, MAX_RUN_EVENTS

__all__ = ["allow_large_option", "data_root_option", "load", "make_folder", "writing"]

T = TypeVar("T")

#: Above this estimate a command says how long a run will take (a tenth of the refusal limit).
WARN_RUN_EVENTS = MAX_RUN_EVENTS / 10
#: Events a second one run processes on this project's machine (a plain SimPy queue: ~120,000).
EVENTS_PER_S = 120_000


def data_root_option() -> Any:
    return typer.Option([], "--data-root", help=f"Also let data_dir lie inside this folder "
                                                f"(repeatable; or {DATA_ROOT_ENV}).")


def allow_large_option() -> Any:
    return typer.Option(False, "--allow-large", help=f"Run even if a run or the sweep is estimated "
                                                     f"beyond the work limits (or {ALLOW_LARGE_ENV}=1).")


def load(scenario: Path, *, overrides: Iterable[str] = (), data_root: Iterable[Path] = (),
         allow_large: bool = False) -> Any:
    """``load_scenario`` with the command line's data roots and large-work switch."""
    from twinworld.cli.app import err_console
    from twinworld.scenario.loader import load_scenario
    from twinworld.scenario.workload import estimate_run

    loaded = load_scenario(scenario, overrides=list(overrides), data_roots=list(data_root),
                           allow_large=True if allow_large else None)
    size = estimate_run(loaded)
    if size.events > WARN_RUN_EVENTS:
        minutes = size.events / EVENTS_PER_S / 60
        err_console.print(f"[yellow]note:[/] the largest run (strategy {size.strategy}) is about "
                          f"{size.events:.2g} events, roughly {minutes:.0f} min of work per run",
                          highlight=False, soft_wrap=True)
    return loaded


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

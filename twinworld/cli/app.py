"""The typer application and the error boundary: every error is one message and an exit code.

Exit codes (also in ``twinworld --help`` and docs/limits.md):

- 0: done;
- 1: an output could not be written (a read-only or full folder, a file where a folder should
  be); everything finished before that is kept;
- 2: a usage error (unknown option, missing or malformed argument) or bad input (scenario,
  data file, a results folder held by another sweep);
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from twinworld.errors import TwinworldError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="twinworld: sample disruptions, run response strategies, rank them. "
                       "Exit codes: 0 done, 1 output not written, 2 usage error or bad input, "
                       "130 interrupted.")
# Wide enough for a KPI table with several strategies when output is piped or logged.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

# Each module defines register(app); a module that is not written yet is skipped.
_COMMAND_MODULES = ("scenario_cmds", "sweep_cmds", "rank_cmds", "twin_cmds", "optimize_cmds", "dashboard_cmds")

EXIT_OUTPUT, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"twinworld.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"twinworld.cli.{name}":
                continue
            raise
        module.register(app)


_register_all()


def _fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _click_exception_types() -> tuple[type[BaseException], ...]:
    """Usage-error classes of the click that typer uses (its own copy in typer >= 0.16)."""
    types: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        types.append(found.ClickException)
    return tuple(types)


def _usage_line(err: BaseException) -> str:
    """One line: the command, what is wrong, where to look."""
    message = " ".join(str(getattr(err, "format_message", lambda: str(err))()).split())
    ctx = getattr(err, "ctx", None)
    command = getattr(ctx, "command_path", "") if ctx is not None else ""
    if command:
        return f"{command}: {message} (see '{command} --help')"
    return message


def _os_error_line(err: OSError) -> str:
    where = err.filename if err.filename else ""
    reason = err.strerror or type(err).__name__
    return f"cannot write {where}: {reason}" if where else f"input/output error: {reason}"


def _quiet_libraries() -> None:
    """The command line's own logging choice: libraries' chatter (pandapower's "numba cannot be
    imported" on every import) would bury the one line an error is."""
    logging.getLogger("pandapower").setLevel(logging.ERROR)


def main() -> None:
    """Console-script entry point: run the app, turning every expected error into one line."""
    _quiet_libraries()
    try:
        app(standalone_mode=False)
    except TwinworldError as err:
        _fail(str(err), err.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Output piped into `head` and the reader left: not an error; silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except OSError as err:
        _fail(_os_error_line(err), EXIT_OUTPUT)
    except Exception as err:
        if isinstance(err, _click_exception_types()):
            code = getattr(err, "exit_code", EXIT_USAGE)
            _fail(_usage_line(err), EXIT_USAGE if code in (1, 2) else code)
        raise

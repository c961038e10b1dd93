"""The typer application and the error boundary: user errors print one message and exit 2."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from twinworld.errors import TwinworldError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="twinworld: sample disruptions, run response strategies, rank them.")
# Wide enough for a KPI table with several strategies when output is piped or logged.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

# Each module defines register(app); a module that is not written yet is skipped.
_COMMAND_MODULES = ("scenario_cmds", "sweep_cmds", "rank_cmds", "twin_cmds", "optimize_cmds", "dashboard_cmds")


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


def main() -> None:
    """Console-script entry point: run the app, turning twinworld errors into exit code 2."""
    try:
        app(standalone_mode=False)
    except TwinworldError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as err:  # click usage errors
        import click
        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise

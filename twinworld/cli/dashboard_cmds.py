"""``twinworld dashboard``: serve the web dashboard (region map, run replay, sweep explorer, live)."""

from __future__ import annotations

from pathlib import Path

import typer

from twinworld.cli.app import console, err_console

__all__ = ["register"]


def dashboard(
    sweeps: list[Path] | None = typer.Argument(None, help="Sweep folders (written by twinworld sweep) to explore."),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario file for the region map and replays "
                                            "(default: the first sweep's scenario)."),
    twin: str | None = typer.Option(None, "--twin", help="MQTT broker HOST:PORT of the live twin."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback needs --token."),
    port: int = typer.Option(0, help="Port (0: a free one)."),
    token: str | None = typer.Option(None, envvar="TWINWORLD_DASHBOARD_TOKEN",
                                        help="Access token required on every request (or TWINWORLD_DASHBOARD_TOKEN)."),
    prefix: str | None = typer.Option(
        None, help="The live twin's MQTT topic prefix (default: the twin's own for --scenario, "
                   "twinworld/<scenario slug>; without a scenario twinworld/+, any)."),
) -> None:
    """Serve the dashboard on 127.0.0.1 (a free port, printed) until Ctrl-C."""
    from twinworld.dashboard.options import DashboardError, DashboardOptions
    try:
        from twinworld.dashboard.server import log_to_terminal, start_dashboard
    except ModuleNotFoundError as err:
        raise DashboardError(f"the dashboard needs {err.name!r}: pip install 'twinworld[dashboard]'") from err

    options = DashboardOptions(sweeps=tuple(sweeps or ()), scenario=scenario, twin=twin, host=host,
                               port=port, token=token, topic_prefix=prefix)
    board = start_dashboard(options, log=log_to_terminal)
    console.print(f"twinworld dashboard on [bold]{board.url}[/]  (Ctrl-C to stop)", highlight=False, soft_wrap=True)
    if options.token:
        err_console.print("requests without the token get 401", highlight=False)
    board.serve()
    console.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)

"""What the dashboard is started with, and the rules for where it may listen."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from twinworld.errors import TwinworldError

__all__ = ["DashboardOptions", "DashboardError", "is_loopback", "check_binding", "parse_broker"]


class DashboardError(TwinworldError, ValueError):
    """The dashboard cannot start as asked, or a view cannot show what it was asked for."""


@dataclass(frozen=True)
class DashboardOptions:
    """Options of ``twinworld dashboard``.

    Parameters
    ----------
    sweeps
        Sweep folders for the explorer.
    scenario
        Scenario file for the region map and run replay (default: the first sweep's scenario).
    twin
        MQTT broker ``HOST:PORT`` of the live twin (no live view without it).
    host, port
        Where to listen; port 0 picks a free one.
    token
        Required on every request when set (``?token=``, a cookie, or ``Authorization: Bearer``).
    topic_prefix
        The live twin's topic prefix (``<prefix>/#`` is watched); None: the twin's default for the
        scenario (``twinworld/<scenario slug>``), or ``twinworld/+`` without a scenario.
    """

    sweeps: tuple[Path, ...] = ()
    scenario: Path | None = None
    twin: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    topic_prefix: str | None = None
    threads: int = 8
    replay_frames: int = field(default=120)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(options: DashboardOptions) -> None:
    """Refuse a non-loopback address without a token, and bad ports.

    Raises
    ------
    DashboardError
        With what to do instead.
    """
    if not 0 <= options.port <= 65535:
        raise DashboardError(f"--port {options.port} is not a TCP port (0-65535; 0 picks a free one)")
    if options.token is not None and len(options.token) < 8:
        raise DashboardError("--token must be at least 8 characters (e.g. python -c "
                             "'import secrets; print(secrets.token_urlsafe())')")
    if not is_loopback(options.host) and not options.token:
        raise DashboardError(
            f"refusing to listen on {options.host}: the dashboard is reachable from other machines "
            "there, so it needs a token (--token or TWINWORLD_DASHBOARD_TOKEN, e.g. from python -c "
            "'import secrets; print(secrets.token_urlsafe())'); or leave --host at 127.0.0.1")


def parse_broker(address: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> ``(host, port)``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DashboardError(f"--twin {address!r} is not HOST:PORT (e.g. 127.0.0.1:1883)")
    return host.strip("[]"), int(port)

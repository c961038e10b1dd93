"""Serve the dashboard with waitress on a free loopback port by default."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twinworld.dashboard.app import create_app
from twinworld.dashboard.context import Context, build_context
from twinworld.dashboard.options import DashboardError, DashboardOptions, check_binding

__all__ = ["Dashboard", "start_dashboard"]


@dataclass
class Dashboard:
    """A dashboard bound to its port (not yet serving until :meth:`serve` or :meth:`serve_in_thread`)."""

    context: Context
    app: Any
    server: Any
    host: str
    port: int
    closing: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        token = self.context.options.token
        return f"http://{host}:{self.port}/" + (f"?token={token}" if token else "")

    def serve(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        try:
            self._run()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def serve_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests, notebooks); :meth:`close` stops it."""
        thread = threading.Thread(target=self._run, name="twinworld-dashboard", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self.closing:  # closing the sockets under the loop ends it this way
                raise

    def close(self) -> None:
        self.closing = True
        self.server.close()
        live = self.context.live
        if live is not None and live.watcher is not None:
            live.watcher.stop()


def start_dashboard(options: DashboardOptions, *, log: Callable[[str, str], None] | None = None) -> Dashboard:
    """Check where to listen, open the inputs, build the app and bind its port.

    Raises
    ------
    DashboardError
        A non-loopback address without a token, a bad port, or a port already in use. Problems
        with the inputs (paths, sweeps, the broker) do not raise: they are shown on the page.
    """
    from waitress import create_server

    check_binding(options)
    context = build_context(options, log=log)
    app = create_app(context)
    logging.getLogger("waitress").setLevel(logging.ERROR)
    try:
        server = create_server(app.server, host=options.host, port=options.port, threads=options.threads,
                               ident="twinworld", clear_untrusted_proxy_headers=True)
    except OSError as err:
        raise DashboardError(f"cannot listen on {options.host}:{options.port} ({err.strerror or err}); "
                             "choose another --port, or 0 for a free one") from err
    port = int(server.effective_port)
    return Dashboard(context, app, server, options.host, port)


def log_to_terminal(level: str, text: str) -> None:
    """Startup problems, one line each, on stderr."""
    print(f"{level}: {text}", file=sys.stderr, flush=True)

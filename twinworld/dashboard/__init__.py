"""A web dashboard for planners and operators: region map, run replay, sweep explorer, live twin.

Start it from the command line (``twinworld dashboard DIR --scenario FILE --twin HOST:PORT``) or
from Python::

    from twinworld.dashboard import DashboardOptions, start_dashboard
    board = start_dashboard(DashboardOptions(sweeps=(Path("out/surge"),)))
    print(board.url); board.serve()

It listens on 127.0.0.1 (a free port) unless told otherwise, refuses other addresses without a
token, and loads nothing from the internet.
"""

from twinworld.dashboard.options import DashboardError, DashboardOptions
from twinworld.dashboard.server import Dashboard, start_dashboard

__all__ = ["DashboardOptions", "DashboardError", "Dashboard", "start_dashboard"]

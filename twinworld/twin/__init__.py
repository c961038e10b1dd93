"""The live twin: telemetry in, state and history kept, calibrated forecasts and recommendations out.

- :mod:`~twinworld.twin.topics`, :mod:`~twinworld.twin.channels`, :mod:`~twinworld.twin.events`:
  the telemetry contract, derived from each system plugin's observable state;
- :mod:`~twinworld.twin.guard`: checks one message (size, depth, JSON, finite, topic, element,
  model) and says why it is quarantined;
- :class:`TwinStore`: the DuckDB file with the message history and the latest state;
- :class:`TwinClock`, :mod:`~twinworld.twin.state`: time 0 and the observed state now;
- :mod:`~twinworld.twin.particles`, :mod:`~twinworld.twin.likelihood`,
  :class:`~twinworld.twin.calibrate.Calibrator`: the particle filter;
- :class:`~twinworld.twin.forecast.Forecaster`: every strategy from now, on posterior draws;
- :class:`LiveTwin`: all of it, round by round; :mod:`~twinworld.twin.service` (MQTT, AIS) and
  :mod:`~twinworld.twin.replay` (a recorded file) drive it.

Examples
--------
>>> from twinworld.twin import TwinStore
>>> store = TwinStore(":memory:")
>>> store.history().empty
True
"""

from __future__ import annotations

from twinworld.twin.calibrate import Calibrator, FilterOptions
from twinworld.twin.clock import TwinClock
from twinworld.twin.forecast import Forecaster, ForecastOptions
from twinworld.twin.guard import Limits, Reason
from twinworld.twin.live import LiveTwin, TwinOptions
from twinworld.twin.store import StoreError, TwinStore

__all__ = ["LiveTwin", "TwinOptions", "TwinStore", "TwinClock", "FilterOptions", "ForecastOptions",
           "Calibrator", "Forecaster", "Limits", "Reason", "StoreError"]

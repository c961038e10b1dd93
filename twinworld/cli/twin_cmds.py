"""``twinworld twin``: a live twin of any scenario, fed by MQTT (and AIS), or replaying a file."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from twinworld.cli.app import console
from twinworld.cli.options import data_root_option, load
from twinworld.errors import TwinworldError

__all__ = ["register", "TwinOptionError"]


class TwinOptionError(TwinworldError, ValueError):
    """A ``twinworld twin`` option that cannot be used."""


def _duration_h(text: str, option: str) -> float:
    from twinworld.units import parse_duration

    try:
        hours = parse_duration(text)
    except ValueError as err:
        raise TwinOptionError(f"{option} {text!r}: {err}") from None
    if not hours > 0 or hours != hours or hours == float("inf"):
        raise TwinOptionError(f"{option} must be a positive duration, e.g. 5min, 6h; got {text!r}")
    return hours


def _t0(text: str | None) -> datetime | None:
    from twinworld.twin.clock import parse_time

    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as err:
        raise TwinOptionError(f"--t0 {text!r}: {err} (valid: ISO 8601 with a zone, e.g. "
                              "2026-03-02T00:00:00Z)") from None


def _replay_file(scenario: Any, reference: Path) -> Path:
    """The replay file, confined to the scenario's data folder like every file reference."""
    files = scenario.files
    if files is None:
        raise TwinOptionError("--replay needs a scenario loaded from a file (its data_dir holds the recording)")
    direct = reference.resolve()
    if direct.is_relative_to(files.root):
        return files.resolve(str(direct.relative_to(files.root)), path="--replay")
    return files.resolve(str(reference), path="--replay")


def _options(scenario: Any, *, t0: str | None, prefix: str | None, particles: int, filter_particles: int,
             horizon: str, executor: str, workers: int | None, seed: int) -> Any:
    from twinworld.experiments.executors import ExecutorOptions
    from twinworld.twin import FilterOptions, ForecastOptions, TwinOptions

    try:
        forecast = ForecastOptions(horizon_h=_duration_h(horizon, "--horizon"), particles=particles,
                                   executor=ExecutorOptions(kind=executor, workers=workers), seed=seed)
        return TwinOptions(prefix=prefix, t0=_t0(t0), filter=FilterOptions(particles=filter_particles, seed=seed),
                           forecast=forecast)
    except ValueError as err:
        if isinstance(err, TwinworldError):
            raise
        raise TwinOptionError(str(err)) from None


def twin(
    scenario: Path = typer.Argument(..., help="Scenario YAML (any systems)."),
    broker: str = typer.Option("127.0.0.1:1883", help="MQTT broker HOST:PORT (telemetry in, recommendations out)."),
    replay: Path | None = typer.Option(None, help="Replay a recorded telemetry file (JSON Lines, inside the "
                                          "scenario's data_dir) instead of listening: no broker needed."),
    ais: str | None = typer.Option(None, help="AIS NMEA over TCP HOST:PORT feeding the scenario's port."),
    ais_system: str | None = typer.Option(None, help="The port system AIS feeds (if the scenario has several)."),
    store: Path | None = typer.Option(None, help="The twin's DuckDB file (default: <scenario slug>.twin.duckdb "
                                         "live, in memory for a replay); a twin restarted on it resumes."),
    t0: str | None = typer.Option(None, help="Absolute time of the scenario's time 0 (ISO 8601 with zone); "
                                     "default: kept in the store, else the first message's time."),
    prefix: str | None = typer.Option(None, help="Topic prefix (default: twinworld/<scenario slug>)."),
    every: str = typer.Option("5min", help="Time between rounds (wall time live, file time in a replay)."),
    rounds: int = typer.Option(0, min=0, help="Stop after this many rounds (0: until stopped / end of file)."),
    particles: int = typer.Option(200, min=2, help="Posterior draws forecast per round (each under every strategy)."),
    filter_particles: int = typer.Option(1000, min=2, help="Particles of the calibration filter."),
    horizon: str = typer.Option("48h", help="How far each round forecasts."),
    executor: str = typer.Option("local", help="Where forecast runs execute: inprocess, local, dask."),
    workers: int | None = typer.Option(None, min=1, help="Worker processes (default: one per core)."),
    seed: int = typer.Option(0, help="Seed of the filter and the forecasts' draws."),
    client_id: str | None = typer.Option(None, help="MQTT session id (default: from the store's path)."),
    idle_exit: float = typer.Option(0.0, min=0, help="Live: stop after this many seconds without a message."),
    status: bool = typer.Option(False, help="Live: print a status line (messages, connection) every 5 s."),
    data_root: list[Path] = data_root_option(),
) -> None:
    """A live twin of SCENARIO: each system's state arrives as telemetry on
    <prefix>/<system>/state, <prefix>/<system>/state/<element> and <prefix>/<system>/event; every
    round calibrates the scenario's uncertain parameters on what was observed, forecasts every
    strategy from the current state and publishes the ranking (retained) on
    <prefix>/twin/recommendation."""
    from twinworld.twin import LiveTwin, TwinStore
    from twinworld.twin.topics import slug

    loaded = load(scenario, data_root=data_root)
    options = _options(loaded, t0=t0, prefix=prefix, particles=particles, filter_particles=filter_particles,
                       horizon=horizon, executor=executor, workers=workers, seed=seed)
    every_h = _duration_h(every, "--every")
    if replay is not None:
        path = _replay_file(loaded, replay)
        with TwinStore(store or ":memory:") as db:
            live = LiveTwin(loaded, db, options)
            try:
                _replay(live, path, every_h, rounds)
            finally:
                live.close()
        return
    database = store or Path(f"{slug(loaded.name)}.twin.duckdb")
    with TwinStore(database) as db:
        live = LiveTwin(loaded, db, options)
        try:
            session = client_id or f"twinworld-{slug(loaded.name)}-" + hashlib.sha256(
                str(database.resolve()).encode()).hexdigest()[:10]
            _serve(live, broker, ais, ais_system, every_h, rounds, idle_exit, session, status)
        finally:
            live.close()


def _replay(live: Any, path: Path, every_h: float, rounds: int) -> None:
    from twinworld.twin.replay import replay

    console.print(f"replaying {path.name} into the twin of {live.scenario.name!r}, a round every {every_h:g} h",
                  markup=False)
    results = replay(live, path, every_h=every_h, rounds=rounds, on_round=_show)
    counts = live.store.counts()
    console.print(f"{len(results)} round(s); messages: {counts['received']} received, {counts['stored']} stored, "
                  f"{counts['quarantined']} quarantined, {counts['duplicates']} duplicates")
    _show_quarantine(live)


def _serve(live: Any, broker: str, ais: str | None, ais_system: str | None, every_h: float, rounds: int,
           idle_exit: float, client_id: str, status: bool) -> None:
    from twinworld.feeds.mqtt import Broker
    from twinworld.twin.service import ServiceOptions, serve

    source = None
    if ais is not None:
        parsed = Broker.parse(ais)
        source = (parsed.host, parsed.port)
    options = ServiceOptions(Broker.parse(broker), client_id, source, ais_system, every_s=every_h * 3600.0,
                             rounds=rounds, idle_exit_s=idle_exit)
    console.print(f"twin of {live.scenario.name!r}: topics {live.prefix}/<system>/state[/<element>] and "
                  f"{live.prefix}/<system>/event on {options.broker} (session {client_id}); store {live.store.path}",
                  soft_wrap=True, markup=False)
    try:
        serve(live, options, on_round=_show, on_status=_StatusLine(verbose=status))
    except KeyboardInterrupt:
        console.print("stopped")
    counts = live.store.counts()
    console.print(f"messages: {counts['received']} received, {counts['stored']} stored, "
                  f"{counts['quarantined']} quarantined, {counts['duplicates']} duplicates")


class _StatusLine:
    """Prints the twin's status every time (``--status``), or, when quiet, only that the broker is
    unreachable (at most every 30 s): a twin waiting for its broker says so."""

    def __init__(self, *, verbose: bool) -> None:
        self.verbose = verbose
        self.last_warning = 0.0

    def __call__(self, status: dict[str, Any]) -> None:
        import time

        m, q = status["messages"], status["mqtt"]
        if self.verbose:
            console.print(f"status: stored {m['stored']} quarantined {m['quarantined']} duplicates "
                          f"{m['duplicates']} connected {q['connected']} errors {q['errors']}",
                          soft_wrap=True, markup=False, highlight=False)
        elif not q["connected"] and q["connects"] == 0 and time.monotonic() - self.last_warning > 30:
            self.last_warning = time.monotonic()
            why = f": {q['last_error']}" if q["last_error"] else ""
            console.print(f"waiting for the MQTT broker {q['broker']} (retrying){why}", soft_wrap=True,
                          markup=False, style="yellow")


def _show(payload: dict[str, Any]) -> None:
    table = Table(title=f"Round {payload['round']} at {payload['state_time']} (scenario hour "
                        f"{payload['scenario_time_h']:g}) — {payload['primary']} over the next "
                        f"{payload['horizon_h']:g} h, {payload['draws']} posterior draws", title_justify="left")
    for column in ("strategy", "mean", "95% CI", "vs best", "P(best)"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in payload["strategies"]:
        table.add_row(row["strategy"], f"{row['mean']:.3g}", f"{row['ci_low']:.3g} – {row['ci_high']:.3g}",
                      f"{row['diff_vs_best']:+.3g}", f"{row['share_best']:.0%}")
    console.print(table)
    posterior = "; ".join(f"{name} {p['median']:.3g} [{p['low']:.3g}, {p['high']:.3g}]"
                          for name, p in payload["posterior"].items()) or "nothing observed bears on a parameter yet"
    m = payload["messages"]
    console.print(f"recommended: [bold]{escape(str(payload['recommended']))}[/]; posterior (90%): {escape(posterior)}; "
                  f"ESS {payload['ess']:.0f} of {payload['particles']}; messages used {m['used']}, "
                  f"stored {m['stored']}, quarantined {m['quarantined']}", soft_wrap=True)


def _show_quarantine(live: Any) -> None:
    bad = live.store.quarantine()
    for row in bad.tail(5).itertuples():
        console.print(f"  quarantined {row.topic}: {row.reason}: {row.detail}", soft_wrap=True, markup=False,
                      style="dim")


def register(app: typer.Typer) -> None:
    app.command("twin")(twin)

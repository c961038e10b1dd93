"""``twinworld twin``: a live twin fed by MQTT census telemetry, publishing recommendations."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import typer
from rich.table import Table

from twinworld.cli.app import console
from twinworld.cli.options import data_root_option, load
from twinworld.errors import ScenarioError

__all__ = ["register"]


def _broker(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ScenarioError.single(f"broker {address!r} is not HOST:PORT", valid="e.g. 127.0.0.1:1883")
    return host, int(port)


def twin(
    scenario: Path = typer.Argument(..., help="Scenario YAML with a hospital_region system."),
    broker: str = typer.Option("127.0.0.1:1883", help="MQTT broker HOST:PORT."),
    prefix: str = typer.Option("", help="Topic prefix (default: twinworld/<system name>)."),
    every: float = typer.Option(300.0, help="Seconds between forecast rounds."),
    samples: int = typer.Option(20, min=2, help="Sampled futures per forecast round."),
    rounds: int = typer.Option(0, min=0, help="Stop after this many rounds (0: run until Ctrl-C)."),
    wait: float = typer.Option(30.0, help="Seconds to wait for a census from every hospital before the first round."),
    data_root: list[Path] = data_root_option(),
) -> None:
    """Subscribe to <prefix>/census/<hospital>, forecast from the latest census, publish the
    ranked strategies to <prefix>/recommendation (retained). Bad messages are quarantined and counted."""
    from twinworld.experiments.twin import LiveTwin
    from twinworld.feeds.mqtt import CensusSubscriber, publish_json
    live = LiveTwin(load(scenario, data_root=data_root))
    host, port = _broker(broker)
    prefix = prefix or f"twinworld/{live.system}"
    changed = threading.Event()

    def on_reading(reading) -> None:
        live.update(reading.hospital, reading.ward_occupied, reading.icu_occupied)
        changed.set()

    subscriber = CensusSubscriber(host, port, prefix, live.hospitals, on_reading=on_reading).start()
    console.print(f"listening on {host}:{port} {prefix}/census/+ for {', '.join(sorted(live.hospitals))}")
    deadline = time.monotonic() + wait
    while set(live.census) != live.hospitals and time.monotonic() < deadline:
        time.sleep(0.1)
    done = 0
    try:
        while True:
            missing = sorted(live.hospitals - set(live.census))
            if missing:
                console.print(f"[yellow]no census yet for {', '.join(missing)}: using the scenario's[/]")
            changed.clear()
            recommendation = live.forecast(samples, seed=done)
            payload = recommendation.to_json() | {"quarantined": len(subscriber.quarantine),
                                                  "messages": subscriber.received}
            publish_json(host, port, f"{prefix}/recommendation", payload, retain=True)
            _show(recommendation, subscriber)
            done += 1
            if rounds and done >= rounds:
                break
            changed.wait(every)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        subscriber.stop()


def _show(recommendation, subscriber) -> None:
    table = Table(title=f"Forecast from the live census — {recommendation.primary} "
                        f"({'lower' if recommendation.direction == 'minimize' else 'higher'} is better), "
                        f"{recommendation.samples} futures", title_justify="left")
    for column in ("strategy", "mean", "95% CI", "vs best", "P(best)"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in recommendation.table.itertuples():
        table.add_row(row.strategy, f"{row.mean:.3g}", f"{row.ci_low:.3g} – {row.ci_high:.3g}",
                      f"{row.diff_vs_best:+.3g}", f"{row.share_best:.0%}")
    console.print(table)
    console.print(f"recommended: [bold]{recommendation.recommended}[/]; messages {subscriber.received}, "
                  f"quarantined {len(subscriber.quarantine)}")
    for bad in subscriber.quarantine[-5:]:
        console.print(f"  [dim]quarantined {bad.topic}: {bad.reason}[/]")


def register(app: typer.Typer) -> None:
    app.command("twin")(twin)

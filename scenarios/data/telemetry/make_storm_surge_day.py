"""Make the recorded telemetry of a day of a surge during a storm (deterministic).

The truth is ``scenarios/storm_cascade.yaml`` with values the twin is not told: the storm trips six
lines from 07:00, the substation at bus 11 is lost from 10:00 for 14 hours, storm injuries raise
emergency admissions by 28% from 06:30 for a day, and Central hospital's generator runs 3.5 hours.
A twinworld run of that truth is observed hour by hour for 24 hours, as the region's sensors would
report it:

- each hospital's census (``hospitals/state/<hospital>``) and admissions (``hospitals/event``);
- the grid's state each hour (``grid/state``: lines and units out, bus loads) and an event for
  every line that tripped or came back (``grid/event``);
- five messages a real feed would garble (a NaN, a negative census, an unknown hospital, a
  truncated message, a census repeated by a flaky gateway).

Writes, next to this script:

- ``storm_surge_day.jsonl``: the replay file (``twinworld twin scenarios/storm_cascade.yaml
  --replay telemetry/storm_surge_day.jsonl``);
- ``storm_surge_day_truth.csv``: the truth's beds in use per hospital and hour for 72 hours (what
  then happened, to score forecasts);
- ``storm_surge_day_truth.json``: the hidden values.

Run ``python scenarios/data/telemetry/make_storm_surge_day.py`` (or ``--out DIR``); the same files come out.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent.parent / "storm_cascade.yaml"
T0 = datetime(2026, 3, 2, tzinfo=UTC)
SEED = 20260302
HIDDEN = {"storm.start": 7.0, "storm.count": 6.0, "substation.start": 10.0, "substation.duration": 14.0,
          "storm_injuries.start": 6.5, "storm_injuries.multiplier": 1.28, "coupling0.backup_h": 3.5}


def garbled(prefix: str) -> list[dict]:
    """What a real feed also sends: a NaN, a negative census, an unknown hospital, a truncated
    message, and one census sent twice by a gateway (the repeat is a duplicate, not a new reading)."""
    def at(hour: int, minute: int) -> str:
        return T0.replace(hour=hour, minute=minute).isoformat().replace("+00:00", "Z")

    census = {"ward_occupied": 301, "icu_occupied": 24, "time": at(9, 0)}
    return [
        {"time": at(3, 10), "topic": f"{prefix}/hospitals/state/Harbour", "payload_text": '{"ward_occupied": NaN}'},
        {"time": at(8, 20), "topic": f"{prefix}/hospitals/state/Northside", "payload": {"ward_occupied": -12}},
        {"time": at(12, 5), "topic": f"{prefix}/hospitals/state/Seaview", "payload": {"ward_occupied": 80}},
        {"time": at(15, 40), "topic": f"{prefix}/grid/event", "payload_text": '{"kind": "line_tripped", "li'},
        {"time": at(9, 2), "topic": f"{prefix}/hospitals/state/Eastgate", "payload": census},
        {"time": at(9, 3), "topic": f"{prefix}/hospitals/state/Eastgate", "payload": census},
    ]


def make(out: Path) -> None:
    import pandas as pd

    from twinworld.scenario import load_scenario
    from twinworld.twin.replay import write_replay
    from twinworld.twin.synthetic import occupancy, simulate_truth
    from twinworld.twin.topics import default_prefix

    scenario = load_scenario(SCENARIO)
    truth = simulate_truth(scenario, HIDDEN, seed=SEED, t0=T0, hours=72, observe_hours=24)
    prefix = default_prefix(scenario.name)
    records = sorted(truth.records + garbled(prefix), key=lambda r: r["time"])
    out.mkdir(parents=True, exist_ok=True)
    write_replay(records, out / "storm_surge_day.jsonl")
    beds = occupancy(truth.states, "hospitals")
    beds.insert(0, "time", [(T0 + pd.Timedelta(hours=h)).isoformat() for h in beds["hour"]])
    beds.to_csv(out / "storm_surge_day_truth.csv", index=False)
    hidden = {"t0": T0.isoformat(), "seed": SEED, "values": HIDDEN, "observed_hours": 24, "hours": 72}
    (out / "storm_surge_day_truth.json").write_text(json.dumps(hidden, indent=2) + "\n")
    print(f"wrote {len(records)} messages, {len(beds)} truth rows to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    make(parser.parse_args().out)

"""100,000 household agents in the Helsinki evacuation: twinworld with behaviour vs today's model
vs a plain Mesa model stepping the same households.

    PYTHONPATH=. python benchmarks/agents_vs_mesa.py            # all three, 100,000 households
    PYTHONPATH=. python benchmarks/agents_vs_mesa.py --quick    # 20,000 households, 4 h of epochs

``scenarios/helsinki_evacuation.yaml`` has 100,000 households (15,000 waterfront + 85,000 centre).
Measured, each on the same sampled scenario and seed:

1. today's model: households leave along the mobilisation curve (rule-based), the whole run;
2. twinworld with behaviour: every household an agent (sirens, cell broadcast, radio, word of mouth
   over six contacts each, compliance 0.85 +- 0.1, four in ten drivers informed), the whole run
   (traffic included), cold (the first run in a process also builds the social network with
   networkx) and warm; and once more with the 100,000 Mesa agents registered (``tables=True``);
3. the decision layer alone, on identical inputs (the run's households, draws and contacts):
   twinworld's numpy epochs vs a plain ``mesa.Model`` whose households each decide every epoch
   through ``model.agents.shuffle_do("step")`` (:mod:`tests.plain_mesa_households`).

Prints wall time and peak traced memory (tracemalloc: Python objects and numpy arrays) of each,
the ratios, and how far the two decision layers' departure curves differ. The load average is
printed with the figures: the project's machine is shared.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEHAVIOUR = {
    "compliance": 0.85, "compliance_sd": 0.1,
    "channels": [{"name": "sirens", "reach": 0.7, "delay": "5min"},
                 {"name": "cell_broadcast", "start": "10min", "reach": 0.8, "delay": "10min"},
                 {"name": "radio_tv", "start": "20min", "reach": 0.5, "delay": "30min"}],
    "word_of_mouth": {"contacts": 6, "rewire": 0.1, "share_telling": 0.5, "delay": "20min"},
}
INFORMED = {"informed_drivers": {"share": 0.4, "replan_every": "10min"}}


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def peak_mb(work: Callable[[], Any]) -> float:
    """Peak traced MB of ``work()`` (tracemalloc: Python objects and numpy arrays), in its own pass
    (tracing slows the work, so times are taken without it)."""
    gc.collect()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak


def scenarios(households: int) -> dict[str, Any]:
    from twinworld import load_scenario
    from twinworld.scenario.uncertain import resolve, sample_values

    path = ROOT / "scenarios" / "helsinki_evacuation.yaml"
    scale = households / 100_000
    sizes = [f"systems.roads.zones.0.households={round(15000 * scale)}",
             f"systems.roads.zones.1.households={round(85000 * scale)}"]
    rule = load_scenario(path, overrides=sizes)
    agents = load_scenario(path, overrides=[*sizes, f"systems.roads.households={json.dumps(BEHAVIOUR)}"])
    informed = load_scenario(path, overrides=[*sizes, "systems.roads.households="
                                              + json.dumps({**BEHAVIOUR, **INFORMED})])
    values = sample_values(rule, 1)
    return {"rule": resolve(rule, values), "agents": resolve(agents, values), "informed": resolve(informed, values)}


def whole_runs(found: dict[str, Any], repeats: int) -> list[tuple[str, float, float, str]]:
    """(label, best seconds, peak MB, compared with) for each whole run."""
    from twinworld.experiments.run import run

    cold, _ = timed(lambda: run(found["agents"], "baseline", 1))
    rows = [("agents, first run (cold)", cold, float("nan"), "today's model")]
    cases = [("today's model", "rule", "baseline", False, ""),
             ("agents", "agents", "baseline", False, "today's model"),
             ("agents + Mesa registered", "agents", "baseline", True, "today's model"),
             ("today's model, rerouting 10 min", "rule", "rerouting", False, ""),
             ("agents, 40% informed drivers", "informed", "baseline", False, "today's model, rerouting 10 min")]
    for label, key, strategy, tables, against in cases:
        def one(key: str = key, strategy: str = strategy, tables: bool = tables) -> Any:
            return run(found[key], strategy, 1, tables=tables)

        best = min(timed(one)[0] for _ in range(repeats))
        rows.append((label, best, peak_mb(one), against))
    return rows


def bulk_decisions(agents: Any, horizon_h: float, epoch_h: float) -> tuple[float, float, np.ndarray, Any]:
    """twinworld's numpy epochs alone, on a fresh copy of the run's households."""
    from twinworld.core.rng import RandomStreams
    from twinworld.experiments.run import build_world
    from twinworld.systems.traffic.mobilise import Mobiliser

    world = build_world(agents, "baseline", 1)
    roads = world.systems["roads"]
    world.env.run(until=1e-9)
    evacuees = roads.evacuees
    template = evacuees.mobiliser
    fresh = Mobiliser(template.table, evacuees.behaviour, streams=RandomStreams(1), system="roads",
                      first_order_h=0.0, turn_h=evacuees.order_h, prep_h=template.prep_h,
                      contacts=template.contacts)
    fresh.tell_delay = template.tell_delay          # the run's own draws, not a re-draw
    epochs = np.arange(0.0, horizon_h + 1e-9, epoch_h)

    def work() -> Any:
        for t in epochs.tolist():
            fresh.step(t)
        return fresh

    elapsed, _ = timed(work)
    return elapsed, float("nan"), fresh.depart_h.copy(), fresh


def plain_decisions(mob: Any, horizon_h: float, epoch_h: float) -> tuple[float, float, np.ndarray]:
    """The same households, draws and contacts, each deciding every epoch in a plain Mesa model."""
    from tests.plain_mesa_households import PlainHouseholds

    n = mob.table.size
    official: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    for h, t, w in zip(mob.ev_household.tolist(), mob.ev_time.tolist(), mob.ev_weight.tolist()):
        official[h].append((t, w))
    incoming: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    contacts = mob.contacts
    sources = np.repeat(np.arange(n), contacts.degree())
    for tie, (src, dst) in enumerate(zip(sources.tolist(), contacts.indices.tolist())):
        delay = float(mob.tell_delay[tie])
        if np.isfinite(delay):
            incoming[dst].append((src, delay))
    mouth = mob.behaviour.word_of_mouth
    everyone = [contacts.indices[contacts.indptr[h]:contacts.indptr[h + 1]].tolist() for h in range(n)]

    def work() -> Any:
        model = PlainHouseholds(needs=mob.table.needs, prep_h=mob.prep_h, turn_h=mob.turn_h, official=official,
                                incoming=incoming, contacts_of=everyone, word_weight=mouth.weight,
                                departure_weight=mouth.departure_weight)
        model.run_until(horizon_h, epoch_h)
        return model

    elapsed, model = timed(work)
    return elapsed, peak_mb(work), model.column("depart_h")


def curve_gap(a: np.ndarray, b: np.ndarray, horizon_h: float) -> float:
    """Largest difference of the shares departed by any time (the two departure curves)."""
    grid = np.linspace(0.0, horizon_h, 601)
    share = [np.searchsorted(np.sort(x[np.isfinite(x)]), grid, side="right") / x.size for x in (a, b)]
    return float(np.abs(share[0] - share[1]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--decide-h", type=float, default=10.0, help="hours of epochs for the decision layers")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 households, 4 h of epochs, 1 repeat")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain Mesa model")
    args = parser.parse_args()
    if args.quick:
        args.households, args.decide_h, args.repeats = 20_000, 4.0, 1
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    found = scenarios(args.households)
    print(f"{args.households:,} households; behaviour: {json.dumps(BEHAVIOUR)}")
    print("\nwhole run (traffic included), best of", args.repeats, "(memory: peak traced, in a separate pass)")
    rows = whole_runs(found, args.repeats)
    seconds_of = {label: seconds for label, seconds, _, _ in rows}
    for label, seconds, mb, against in rows:
        ratio = f"x{seconds / seconds_of[against]:5.2f} {against}" if against else ""
        print(f"  {label:34s} {seconds:7.2f} s  {mb:8.1f} MB   {ratio}")
    agents = found["agents"]
    epoch_h = float(agents.systems["roads"].households.epoch)
    print(f"\ndecision layer alone, {args.decide_h:g} h of {epoch_h * 60:g}-min epochs, same households and draws:")
    bulk_s, _, bulk_depart, mob = bulk_decisions(agents, args.decide_h, epoch_h)
    bulk_mb = peak_mb(lambda: bulk_decisions(agents, args.decide_h, epoch_h))
    print(f"  twinworld numpy epochs            {bulk_s:7.2f} s  {bulk_mb:8.1f} MB (incl. building the world)")
    if not args.no_plain:
        plain_s, plain_mb, plain_depart = plain_decisions(mob, args.decide_h, epoch_h)
        print(f"  plain Mesa shuffle_do             {plain_s:7.2f} s  {plain_mb:8.1f} MB   "
              f"x{plain_s / bulk_s:5.1f} twinworld's time")
        print(f"  households gone: {np.isfinite(bulk_depart).mean():.4f} (numpy) vs "
              f"{np.isfinite(plain_depart).mean():.4f} (plain Mesa); largest gap between the departure "
              f"curves {curve_gap(bulk_depart, plain_depart, args.decide_h):.4f}")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()

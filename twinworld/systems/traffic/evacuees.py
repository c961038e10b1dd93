"""A road system's households as agents: drawn, warned, deciding, and put on the roads.

:class:`Evacuees` ties the parts together for one run: it draws the households
(:mod:`.households`), registers them as a Mesa cohort (their table is their state; each row is a
:class:`~twinworld.systems.traffic.households.Household` agent), builds their contact network
(:mod:`.social`), runs the decision epochs on the World's clock (:mod:`.mobilise`) and hands the
vehicles of those who leave to the departure buffer (:mod:`.departures`), which releases platoons to
the traffic engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twinworld.core.agents import Cohort, decision_epochs
from twinworld.systems.traffic.behaviour import Channel, HouseholdBehaviour
from twinworld.systems.traffic.demand import Vehicles, departure_hours
from twinworld.systems.traffic.departures import DepartureBuffer
from twinworld.systems.traffic.households import Household, HouseholdTable, draw_households
from twinworld.systems.traffic.mobilise import NEIGHBOURS, NOT_WARNED, WORD_OF_MOUTH, Mobiliser
from twinworld.systems.traffic.social import contacts_of

if TYPE_CHECKING:
    from twinworld.systems.traffic.model import RoadNetworkSystem

__all__ = ["Evacuees", "shadow_nodes", "SHADOW"]

SHADOW = "shadow"   # the zone name of shadow evacuees' platoons and households


def shadow_nodes(net, config) -> np.ndarray:
    """Nodes of the shadow region: outside every zone (and inside its polygon, when given)."""
    from twinworld.systems.traffic.checks import zone_nodes

    inside = np.zeros(net.n_nodes, bool)
    for nodes in zone_nodes(net, config, "")[0]:
        inside[nodes] = True
    outside = ~inside
    shadow = config.households.shadow
    if shadow is not None and shadow.polygon is not None:
        outside &= net.nodes_in(shadow.polygon)
    return np.flatnonzero(outside)


class Evacuees:
    """The households of one run, their decisions and the platoons they become.

    Parameters
    ----------
    system
        The road system (its network, zones, destinations and streams).
    behaviour
        The ``households:`` section, with a strategy's channels already applied.
    informed_share, informed_every_h
        Share of informed drivers and how often their app re-plans (strategies may change them).
    add_platoons
        Puts released platoons on the roads (the system's engine and records).
    """

    def __init__(self, system: "RoadNetworkSystem", behaviour: HouseholdBehaviour, *, informed_share: float,
                 add_platoons: Callable[[dict[str, np.ndarray]], None]) -> None:
        self.system = system
        self.behaviour = behaviour
        self.informed_share = informed_share
        self.add_platoons = add_platoons
        config = system.config
        self.zone_names = [z.name for z in config.zones]
        self.order_h = np.array([system.stage_delay_h.get(z, 0.0) for z in self.zone_names] + [0.0])
        self.first_order_h = float(self.order_h[:-1].min()) if self.zone_names else 0.0
        self.order_h[-1] = self.first_order_h
        self.table: HouseholdTable | None = None
        self.cohort: Cohort | None = None
        self.mobiliser: Mobiliser | None = None
        self.buffer: DepartureBuffer | None = None
        self.od: Vehicles | None = None

    # ----------------------------------------------------------------------------- start --
    def start(self, time_to_h: np.ndarray, capacity: np.ndarray, od: Vehicles) -> None:
        """Draw the households, register them with Mesa, and start the decision epochs."""
        system, behaviour = self.system, self.behaviour
        config, world = system.config, system.world
        zones = [(z.name, _households(z.households, z.households_per_node, nodes.size), nodes)
                 for z, nodes in zip(config.zones, system.zone_nodes)]
        shadow = None
        if behaviour.shadow is not None:
            nodes = shadow_nodes(system.net, config)
            shadow = (_households(behaviour.shadow.households, behaviour.shadow.households_per_node, nodes.size),
                      nodes)
        table = draw_households(world.streams, system.name, behaviour, zones=zones, shadow=shadow,
                                per_household=float(config.vehicles_per_household),
                                informed_share=self.informed_share)
        self.table = table
        prep_h = departure_hours(behaviour.preparation or config.mobilisation, table.prep_u)
        contacts = None
        if behaviour.word_of_mouth is not None and table.size:
            mouth = behaviour.word_of_mouth
            contacts = contacts_of(system.net.lat[table.home], system.net.lon[table.home],
                                   contacts=mouth.contacts, rewire=mouth.rewire, seed=mouth.seed)
        self.mobiliser = Mobiliser(table, behaviour, streams=world.streams, system=system.name,
                                   first_order_h=self.first_order_h, turn_h=self.order_h, prep_h=prep_h,
                                   contacts=contacts)
        self.cohort = world.agents.add_cohort("household", self._columns(prep_h), member=Household)
        self.buffer = DepartureBuffer(config.platoon_size, time_to_h, capacity, rule=system.shelter_rule)
        self.od = od
        epoch_h = float(behaviour.epoch)
        world.env.process(decision_epochs(world.env, self.epoch, every_h=epoch_h,
                                          also_at_h=[self.first_order_h, *self.order_h], until_h=world.horizon_h))

    def _columns(self, prep_h: np.ndarray) -> dict[str, np.ndarray]:
        """The cohort's columns (the mobiliser's arrays are shared, so they stay current)."""
        table, mob = self.table, self.mobiliser
        assert table is not None and mob is not None
        return {"group": table.group, "home": table.home, "vehicles": table.vehicles,
                "compliance": table.compliance, "needs": table.needs, "informed": table.informed,
                "prep_h": prep_h, "warned_h": mob.warned_h, "warned_by": mob.warned_by,
                "decided_h": mob.decided_h, "depart_h": mob.depart_h}

    # ---------------------------------------------------------------------------- epochs --
    def epoch(self, now: float) -> bool:
        """One decision epoch: warnings, decisions, vehicles to the buffer, platoons to the roads.

        Returns False once nothing can change any more (the epochs then stop).
        """
        mob, buffer = self.mobiliser, self.buffer
        assert mob is not None and buffer is not None
        deciders = mob.step(now)
        parts = [self._vehicles_of(deciders)] if deciders.size else []
        if self.od is not None:
            parts.append(self.od)
            self.od = None
        if parts:
            buffer.add(Vehicles.concat(parts) if len(parts) > 1 else parts[0])
        final = mob.all_decided() or mob.is_settled()
        platoons = buffer.release(due_before_h=now + float(self.behaviour.epoch), final=final)
        if platoons is not None:
            self.add_platoons(platoons)
        return not (final and len(buffer) == 0)

    def _vehicles_of(self, households: np.ndarray) -> Vehicles:
        """The cars of ``households``, in car order, leaving at their household's departure."""
        table, mob = self.table, self.mobiliser
        assert table is not None and mob is not None
        chosen = np.zeros(table.size, bool)
        chosen[households] = True
        cars = np.flatnonzero(chosen[table.car_household])
        owner = table.car_household[cars]
        informed = None if table.informed.all() else table.informed[owner]
        return Vehicles(table.car_origin[cars], table.group[owner], mob.depart_h[owner],
                        np.full(cars.size, -1, np.int64), informed)

    # --------------------------------------------------------------------------- results --
    def kpis(self, horizon_h: float) -> dict[str, float]:
        """``households_left_behind`` and ``warned90_h`` over the zones' households."""
        table, mob = self.table, self.mobiliser
        if table is None or mob is None:
            return {"households_left_behind": 0.0, "warned90_h": 0.0}
        inside = table.in_zone
        left_behind = float(np.count_nonzero(inside & ~(mob.depart_h <= horizon_h)))
        warned = np.sort(mob.warned_h[inside])
        if warned.size == 0:
            return {"households_left_behind": left_behind, "warned90_h": 0.0}
        at90 = warned[int(np.ceil(0.9 * warned.size)) - 1]
        return {"households_left_behind": left_behind,
                "warned90_h": float(at90) if at90 <= horizon_h else horizon_h}

    def tables(self, node_ids: list[str], horizon_h: float) -> dict[str, pd.DataFrame]:
        """Per household (``households``), the emerging curve (``mobilisation``) and per zone
        (``household_zones``, from Mesa's ``groupby``/``agg`` over the household agents)."""
        cohort, table = self.cohort, self.table
        if cohort is None or table is None:
            return {}
        names = [*self.zone_names, SHADOW]
        frame = cohort.frame()
        frame.insert(0, "zone", [names[g] for g in table.group])
        frame["home"] = [node_ids[n] for n in table.home]
        frame["warned_by"] = [self._source(code) for code in frame["warned_by"]]
        frame = frame.drop(columns=["group"])
        return {"households": frame, "mobilisation": self._curve(horizon_h),
                "household_zones": self._by_zone(names)}

    def _source(self, code: int) -> str:
        if code == NOT_WARNED:
            return ""
        if code == WORD_OF_MOUTH:
            return "word_of_mouth"
        if code == NEIGHBOURS:
            return "neighbours_leaving"
        return self.behaviour.channels[code].name

    def _curve(self, horizon_h: float) -> pd.DataFrame:
        """Shares of the zones' households warned, decided and gone over time (and shadow gone)."""
        table, mob = self.table, self.mobiliser
        assert table is not None and mob is not None
        step = float(self.behaviour.epoch)
        grid = np.arange(0.0, horizon_h + step / 2, step)
        inside = table.in_zone
        total = max(int(inside.sum()), 1)
        curve = {"time_h": grid}
        for column, values in (("warned", mob.warned_h), ("decided", mob.decided_h), ("left", mob.depart_h)):
            curve[f"{column}_share"] = np.searchsorted(np.sort(values[inside]), grid, side="right") / total
        shadow = ~inside
        curve["shadow_left"] = np.searchsorted(np.sort(mob.depart_h[shadow]), grid, side="right")
        return pd.DataFrame(curve)

    def _by_zone(self, names: list[str]) -> pd.DataFrame:
        """Per zone: households, vehicles, warned, left, mean warning and departure times."""
        cohort, mob = self.cohort, self.mobiliser
        assert cohort is not None and mob is not None
        groups = cohort.agents.groupby("group")
        rows = groups.map(lambda agents: np.fromiter((a.index for a in agents), np.int64, len(agents)))
        table = cohort.columns
        found = []
        for group, index in sorted(rows.items()):
            warned, gone = mob.warned_h[index], mob.depart_h[index]
            found.append({"zone": names[group], "households": index.size,
                          "vehicles": int(table["vehicles"][index].sum()),
                          "warned": int(np.isfinite(warned).sum()), "left": int(np.isfinite(gone).sum()),
                          "mean_warned_h": _mean_finite(warned), "mean_depart_h": _mean_finite(gone)})
        return pd.DataFrame(found)


def _households(count: object, per_node: object, nodes: int) -> float:
    return float(count) if count is not None else float(per_node) * nodes  # type: ignore[arg-type]


def _mean_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def apply_channels(behaviour: HouseholdBehaviour, add: list[Channel], drop: list[str]) -> HouseholdBehaviour:
    """The behaviour with channels dropped (by name) and added (replacing same-named ones)."""
    names = {c.name for c in add} | set(drop)
    kept = [c for c in behaviour.channels if c.name not in names]
    return behaviour.model_copy(update={"channels": kept + list(add)})

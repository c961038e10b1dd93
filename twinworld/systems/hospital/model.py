"""A region's hospitals on the World's clock: arrivals, boarding, admission, discharge, transfers.

Each hospital has a pool of ward beds and a pool of ICU beds. Patients are created up front from
named random streams (arrival times by thinning a time-varying Poisson process, class, length of
stay), so every strategy run on the same seed sees exactly the same patients. Events are plain SimPy
timeouts with callbacks: one per arrival and one per discharge, which keeps the model fast.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Iterator

import mesa
import numpy as np
import pandas as pd

from twinworld.systems.base import DisruptionConfig, StrategyConfig, System, target_element
from twinworld.systems.hospital.config import HospitalRegionConfig, HospitalSpec, LengthOfStay
from twinworld.systems.hospital.state import HospitalRegionState, HospitalState
from twinworld.systems.hospital.disruptions import BedLoss, PatientSurge, StaffShortage
from twinworld.systems.hospital.strategies import CancelElectives, SurgeBeds, Transfer
from twinworld.systems.hospital.travel import TravelTimes

if TYPE_CHECKING:
    from twinworld.core.world import World

__all__ = ["HospitalRegion", "Hospital", "BedPool", "Patient", "draw_los", "STREAMS"]

#: The region's random streams (after its system name): arrival times, patient class, length of
#: stay, electives and their stays, the starting census's residual stays, electives cancelled,
#: the injured a casualties coupling brings in.
STREAMS = ("arrivals", "class", "los", "electives", "elective_los", "census", "cancel", "casualties")


def draw_los(los: LengthOfStay, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` lengths of stay (hours) from a resolved :class:`LengthOfStay`."""
    mean, cv = float(los.mean), float(los.cv)
    if los.distribution == "fixed" or (cv == 0 and los.distribution != "exponential"):
        return np.full(size, mean)
    if los.distribution == "exponential":
        return rng.exponential(mean, size)
    if los.distribution == "gamma":
        shape = 1.0 / cv**2
        return rng.gamma(shape, mean / shape, size)
    sigma2 = math.log1p(cv**2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)


class Patient:
    """One patient's fixed attributes (drawn up front) and where they are now."""

    __slots__ = ("home", "bed", "los_h", "arrived_h", "waiting", "at")

    def __init__(self, home: "Hospital", bed: str, los_h: float, arrived_h: float) -> None:
        self.home = home
        self.bed = bed
        self.los_h = los_h
        self.arrived_h = arrived_h
        self.waiting = False
        self.at = home


class BedPool:
    """Beds of one type at one hospital: capacity (after losses and surge beds) and a FIFO queue."""

    __slots__ = ("base", "extra", "losses", "occupied", "queue", "waiting", "capacity")

    def __init__(self, base: int) -> None:
        self.base = base
        self.extra = 0
        self.losses: dict[int | str, float] = {}
        self.occupied = 0
        self.queue: deque[Patient] = deque()
        self.waiting = 0
        self.capacity = base

    def refresh(self) -> None:
        """Recompute capacity from the active losses and surge beds."""
        lost = min(1.0, sum(self.losses.values()))
        self.capacity = max(0, int(round(self.base * (1.0 - lost)))) + self.extra

    def has_free_bed(self) -> bool:
        return self.occupied < self.capacity


class Hospital:
    """Live state of one hospital (also the ``state`` of its Mesa agent)."""

    def __init__(self, spec: HospitalSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.pools = {"ward": BedPool(spec.ward_beds), "icu": BedPool(spec.icu_beds)}
        self.base_beds = spec.ward_beds + spec.icu_beds
        self.surges: list[tuple[float, float, float]] = []
        self.counts = dict.fromkeys(("initial", "arrived", "admitted", "discharged", "turned_away",
                                     "transferred_in", "transferred_out", "electives_cancelled", "casualties"), 0)
        self.accepting: bool | None = None   # last published diversion status
        self.surge_open = False
        self.surge_pending = False

    @property
    def occupied(self) -> int:
        return self.pools["ward"].occupied + self.pools["icu"].occupied

    @property
    def waiting(self) -> int:
        return self.pools["ward"].waiting + self.pools["icu"].waiting

    def occupancy(self) -> float:
        return self.occupied / self.base_beds if self.base_beds else 0.0

    def surge_factor(self, t: float) -> float:
        factor = 1.0
        for start, end, multiplier in self.surges:
            if start <= t < end:
                factor *= multiplier
        return factor


class HospitalRegion(System):
    """The ``hospital_region`` system."""

    kind = "hospital_region"

    def __init__(self, world: "World", name: str, config: HospitalRegionConfig) -> None:
        super().__init__(world, name, config)
        self.config: HospitalRegionConfig = config
        self.env = world.env
        self.hospitals = {spec.name: Hospital(spec) for spec in config.hospitals}
        self.base_beds = sum(h.base_beds for h in self.hospitals.values())
        self.max_wait_h = None if config.max_wait is None else float(config.max_wait)
        self.travel_min = TravelTimes(config)
        self.transfer: Transfer | None = None
        self.cancel: CancelElectives | None = None
        self.surge_plans: list[SurgeBeds] = []
        self.waits: list[float] = []
        self.stats_from_h = 0.0          # the warm-up is over: waits and counts measured from here
        self.counts_at_warmup: dict[str, dict[str, int]] = {}
        self.state: HospitalRegionState | None = None
        self.casualties_seen: dict[str, int] = {}
        self.history: list[tuple[float, str, int, int, int]] = []
        self._loss_ids = 0
        rec = world.recorder
        self.occupied_probe = rec.probe(f"{name}.occupied")
        self.waiting_probe = rec.probe(f"{name}.waiting")
        self.extra_probe = rec.probe(f"{name}.surge_beds")
        self.hospital_probes = {h.name: rec.probe(f"{name}.{h.name}.occupied",
                                                  thresholds=(0.9 * h.base_beds,))
                                for h in self.hospitals.values()}
        self.agents = mesa.agent.AgentSet(
            [world.agents.add_facility(name=h.name, kind="hospital", state=h, location=h.spec.location)
             for h in self.hospitals.values()], random=world.agents.model.random)

    # ---------------------------------------------------------------- disruptions, strategies --
    def _targets(self, target: str) -> list[Hospital]:
        element = target_element(target)
        return list(self.hospitals.values()) if element is None else [self.hospitals[element]]

    def disrupt(self, disruption: DisruptionConfig) -> None:
        start, end = disruption.window(self.world.horizon_h)
        for hospital in self._targets(disruption.target):
            if isinstance(disruption, PatientSurge):
                hospital.surges.append((start, end, float(disruption.multiplier)))
            elif isinstance(disruption, (BedLoss, StaffShortage)):
                beds = ("ward", "icu") if isinstance(disruption, StaffShortage) or disruption.bed == "both" \
                    else (disruption.bed,)
                self._loss_ids += 1
                self._schedule_loss(hospital, beds, float(disruption.share), start, end, self._loss_ids)
            else:
                super().disrupt(disruption)

    def _schedule_loss(self, hospital: Hospital, beds: tuple[str, ...], share: float,
                       start: float, end: float, loss_id: int) -> None:
        def begin() -> None:
            for bed in beds:
                hospital.pools[bed].losses[loss_id] = share
                hospital.pools[bed].refresh()
            self.world.recorder.event("bed_loss", f"{hospital.name} -{share:.0%} {'/'.join(beds)}")
            self._status_changed(hospital)

        def finish() -> None:
            for bed in beds:
                hospital.pools[bed].losses.pop(loss_id, None)
                hospital.pools[bed].refresh()
                self._serve(hospital, hospital.pools[bed])
            self._status_changed(hospital)

        self.world.at(start, begin)
        if end < self.world.horizon_h:
            self.world.at(end, finish)

    def degrade(self, element: str | None, share_lost: float, *, cause: str, kind: str = "power") -> None:
        """Lose a share of beds at one hospital (or all) while a provider (power, supplies) is out."""
        for hospital in (self.hospitals.values() if element is None else [self.hospitals[element]]):
            for pool in hospital.pools.values():
                if share_lost > 0:
                    pool.losses[cause] = share_lost
                else:
                    pool.losses.pop(cause, None)
                pool.refresh()
                if share_lost == 0:
                    self._serve(hospital, pool)
            self.world.recorder.event("beds_degraded", f"{hospital.name} -{share_lost:.0%} ({cause})")
            self._status_changed(hospital)

    def feed(self, kind: str, provider_elements: tuple[str, ...], value: float, *, element: str | None,
             cause: int | None) -> None:
        """Road travel times between hospitals (transfers use them at once), or the running count of
        injured brought to a hospital from the roads (each new one arrives now)."""
        if kind == "road_travel" and len(provider_elements) == 2:
            origin, destination = provider_elements
            if origin in self.hospitals and destination in self.hospitals:
                self.travel_min[origin][destination] = value
        elif kind == "casualties" and len(provider_elements) == 1:
            place = provider_elements[0]
            if place not in self.hospitals or element not in (None, place):
                return
            new = int(value) - self.casualties_seen.get(place, 0)
            self.casualties_seen[place] = int(value)
            self._casualties(self.hospitals[place], new)
        else:
            super().feed(kind, provider_elements, value, element=element, cause=cause)

    def _casualties(self, hospital: Hospital, count: int) -> None:
        """``count`` injured arrive at ``hospital`` now (class and stay drawn as for any patient)."""
        if count <= 0:
            return
        rng = self._stream("casualties", hospital.name)
        classes = self.config.patient_classes
        shares = np.array([float(c.share) for c in classes])
        which = np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(count), side="right")
        for i in which.clip(0, len(classes) - 1).tolist():
            klass = classes[i]
            hospital.counts["casualties"] += 1
            self.arrive(Patient(hospital, klass.bed, float(draw_los(klass.los, rng, 1)[0]), self.env.now))
        self.world.recorder.event("casualties_arrived", f"{hospital.name} +{count}")

    def respond(self, strategy: StrategyConfig) -> None:
        if isinstance(strategy, Transfer):
            self.transfer = strategy
        elif isinstance(strategy, CancelElectives):
            self.cancel = strategy
        elif isinstance(strategy, SurgeBeds):
            self.surge_plans.append(strategy)
        else:
            super().respond(strategy)

    # ------------------------------------------------------------------------------ start --
    def warm_start(self, state: HospitalRegionState) -> None:  # type: ignore[override]
        """Start from an observed census (replacing the scenario's) for the hospitals it names."""
        unknown = sorted(set(state.hospitals) - set(self.hospitals))
        if unknown:
            raise ValueError(f"state names hospital(s) {', '.join(unknown)} that {self.name!r} does not have")
        self.state = state

    def observe(self) -> HospitalRegionState:
        """Beds in use and patients boarding at every hospital, now."""
        return HospitalRegionState(hospitals={
            h.name: HospitalState(ward_occupied=h.pools["ward"].occupied, icu_occupied=h.pools["icu"].occupied,
                                  boarding_ward=h.pools["ward"].waiting, boarding_icu=h.pools["icu"].waiting)
            for h in self.hospitals.values()})

    def start(self) -> None:
        for hospital in self.hospitals.values():
            self._warm_start(hospital)
            self.env.process(self._arrivals(hospital, *self._emergency_patients(hospital)))
            if float(hospital.spec.electives_per_day) > 0:
                self.env.process(self._arrivals(hospital, *self._elective_patients(hospital)))
        if self.transfer is not None:
            self.env.process(self._review_transfers(float(self.transfer.check_every)))
        for plan in self.surge_plans:
            self.env.process(self._surge_monitor(plan))
        self.env.process(self._hourly_snapshot())

    def begin_statistics(self) -> None:
        """The warm-up is over: waits and counts for the KPIs start now."""
        self.stats_from_h = self.env.now
        self.waits.clear()
        self.counts_at_warmup = {h.name: dict(h.counts) for h in self.hospitals.values()}

    def measured(self, hospital: Hospital, count: str) -> int:
        """``hospital``'s ``count`` since the warm-up ended."""
        before = self.counts_at_warmup.get(hospital.name)
        return hospital.counts[count] - (before[count] if before else 0)

    def _hourly_snapshot(self) -> Iterator:
        """Process: record each hospital's beds in use, capacity and queue every simulated hour."""
        while True:
            now = self.env.now
            publish = self.world.services.publish
            for h in self.hospitals.values():
                self.history.append((now, h.name, h.occupied, h.pools["ward"].capacity + h.pools["icu"].capacity,
                                     h.waiting))
                publish(f"{self.name}.occupancy.{h.name}", h.occupancy())
            yield self.env.timeout(1.0)

    def _stream(self, *names: str) -> np.random.Generator:
        return self.world.streams.get(self.name, *names)

    def _rate_profile(self) -> np.ndarray:
        profile = np.ones(24) if self.config.hourly_profile is None else np.asarray(self.config.hourly_profile)
        return profile / profile.mean()

    def _emergency_patients(self, hospital: Hospital) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Arrival times, bed types and stays of one hospital's emergency patients (thinning)."""
        horizon = self.world.horizon_h
        base_per_h = float(hospital.spec.arrivals_per_day) / 24.0
        profile = self._rate_profile()
        peak = base_per_h * profile.max() * math.prod(max(1.0, m) for _, _, m in hospital.surges)
        rng = self._stream("arrivals", hospital.name)
        count = rng.poisson(peak * horizon) if peak > 0 else 0
        times = np.sort(rng.uniform(0.0, horizon, count))
        rate = base_per_h * profile[(times % 24).astype(int)]
        if hospital.surges:
            rate = rate * np.array([hospital.surge_factor(t) for t in times])
        accept = rng.random(count) * peak < rate
        classes = self.config.patient_classes
        shares = np.array([float(c.share) for c in classes])
        which = np.searchsorted(np.cumsum(shares) / shares.sum(), self._stream("class", hospital.name).random(count),
                                side="right").clip(0, len(classes) - 1)
        stays = np.empty(count)
        for i, klass in enumerate(classes):
            mask = which == i
            stays[mask] = draw_los(klass.los, self._stream("los", hospital.name, klass.name), int(mask.sum()))
        beds = [classes[i].bed for i in which[accept]]
        return times[accept], beds, stays[accept]

    def _elective_patients(self, hospital: Hospital) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Planned admissions: Poisson between 8:00 and 16:00 each day."""
        rng = self._stream("electives", hospital.name)
        days = int(math.ceil(self.world.horizon_h / 24))
        per_day = rng.poisson(float(hospital.spec.electives_per_day), days)
        times = np.concatenate([24 * d + 8 + 8 * np.sort(rng.random(n)) for d, n in enumerate(per_day)]) \
            if days else np.empty(0)
        times = times[times < self.world.horizon_h]
        stays = draw_los(self.config.elective_los, self._stream("elective_los", hospital.name), times.size)
        return times, ["elective"] * times.size, stays

    def _warm_start(self, hospital: Hospital) -> None:
        """Put the starting census in bed with residual stays (length-biased, then uniform), and
        the boarding patients of an observed state in the queues.

        The census is the observed state's when the run starts from one, else the scenario's.
        These patients were admitted before the run: they count as ``initial``, not as arrivals.
        """
        observed = self.state.hospitals.get(hospital.name) if self.state is not None else None
        census = hospital.spec.census
        if observed is not None:
            in_bed = {"ward": observed.ward_occupied, "icu": observed.icu_occupied}
            boarding = {"ward": observed.boarding_ward, "icu": observed.boarding_icu}
        else:
            in_bed = {"ward": census.ward if census else 0, "icu": census.icu if census else 0}
            boarding = {"ward": 0, "icu": 0}
        rng = self._stream("census", hospital.name)
        for bed in ("ward", "icu"):
            for stay in self._residual_stays(bed, in_bed[bed], rng):
                patient = Patient(hospital, bed, stay, 0.0)
                hospital.pools[bed].occupied += 1
                hospital.counts["initial"] += 1
                self.env.timeout(patient.los_h).callbacks.append(
                    lambda _e, p=patient, h=hospital: self._discharge(p, h))
            if boarding[bed]:
                stays = draw_los(self._class_los(bed), rng, boarding[bed])
                for stay in stays.tolist():
                    hospital.counts["arrived"] += 1
                    self._board(Patient(hospital, bed, stay, 0.0))
        self._occupancy_changed(hospital)

    def _class_los(self, bed: str) -> LengthOfStay:
        return next((c.los for c in self.config.patient_classes if c.bed == bed),
                    self.config.patient_classes[0].los)

    def _residual_stays(self, bed: str, count: int, rng: np.random.Generator) -> np.ndarray:
        """Remaining stays of ``count`` patients found in bed: length-biased draws, then uniform."""
        if count == 0:
            return np.empty(0)
        candidates = draw_los(self._class_los(bed), rng, 8 * count)
        picked = rng.choice(candidates, size=count, p=candidates / candidates.sum())
        return picked * rng.random(count)

    # ---------------------------------------------------------------------- patient flow --
    def _arrivals(self, hospital: Hospital, times: np.ndarray, beds: list[str],
                  stays: np.ndarray) -> Iterator:
        """Process: release the pre-drawn patients at their arrival times (simulated hours pass)."""
        env = self.env
        cancel_rng = self._stream("cancel", hospital.name) if beds and beds[0] == "elective" else None
        for t, bed, stay in zip(times.tolist(), beds, stays.tolist()):
            yield env.timeout(t - env.now)
            if cancel_rng is not None:
                draw = cancel_rng.random()
                if self._cancels_elective(draw):
                    hospital.counts["electives_cancelled"] += 1
                    continue
                bed = "ward"
            self.arrive(Patient(hospital, bed, stay, t))

    def _cancels_elective(self, draw: float) -> bool:
        if self.cancel is None:
            return False
        crowded = self.occupied_probe.value / self.base_beds > float(self.cancel.when_occupancy_above)
        return crowded and draw < float(self.cancel.share)

    def arrive(self, patient: Patient) -> None:
        """A patient arrives at their home hospital: admit, board, transfer or turn away."""
        hospital = patient.home
        hospital.counts["arrived"] += 1
        pool = hospital.pools[patient.bed]
        if pool.waiting == 0 and pool.has_free_bed():
            self.admit(patient, hospital)
            return
        if self.transfer is not None and self._try_transfer(patient):
            return
        if self.max_wait_h == 0:
            self._turn_away(hospital)
            return
        self._board(patient)

    def _board(self, patient: Patient) -> None:
        """The patient waits at their home hospital for a bed (turned away after ``max_wait``)."""
        pool = patient.home.pools[patient.bed]
        patient.waiting = True
        pool.queue.append(patient)
        pool.waiting += 1
        self.waiting_probe.update(self.env.now, self.waiting_probe.value + 1)
        self._status_changed(patient.home)
        if self.max_wait_h is not None:
            self.env.timeout(self.max_wait_h).callbacks.append(lambda _e, p=patient: self._give_up(p))

    def admit(self, patient: Patient, hospital: Hospital, *, travel_h: float = 0.0) -> None:
        """Give the patient a bed at ``hospital``; their stay ends ``travel_h + los_h`` later."""
        pool = hospital.pools[patient.bed]
        pool.occupied += 1
        hospital.counts["admitted"] += 1
        patient.at = hospital
        if self.env.now >= self.stats_from_h:
            self.waits.append(self.env.now - max(patient.arrived_h, self.stats_from_h))
        self._occupancy_changed(hospital)
        self.env.timeout(travel_h + patient.los_h).callbacks.append(
            lambda _e, p=patient, h=hospital: self._discharge(p, h))

    def _discharge(self, patient: Patient, hospital: Hospital) -> None:
        pool = hospital.pools[patient.bed]
        pool.occupied -= 1
        hospital.counts["discharged"] += 1
        self._occupancy_changed(hospital)
        self._serve(hospital, pool)

    def _unqueue(self, patient: Patient) -> None:
        patient.waiting = False
        patient.home.pools[patient.bed].waiting -= 1
        self.waiting_probe.update(self.env.now, self.waiting_probe.value - 1)
        self._status_changed(patient.home)

    def _serve(self, hospital: Hospital, pool: BedPool) -> None:
        """Admit waiting patients, first come first served, while beds are free."""
        queue = pool.queue
        while queue and pool.occupied < pool.capacity:
            patient = queue.popleft()
            if patient.waiting:
                self._unqueue(patient)
                self.admit(patient, hospital)

    def _give_up(self, patient: Patient) -> None:
        if patient.waiting:
            self._unqueue(patient)
            self._turn_away(patient.home)

    def _turn_away(self, hospital: Hospital) -> None:
        """A patient is diverted out of the region; counted against whatever cause acts on the
        hospital now (a disruption, a lost power or supply coupling ...)."""
        hospital.counts["turned_away"] += 1
        if self.env.now >= self.stats_from_h:
            self.world.cascade.outcome(self.name, "patients_turned_away", element=hospital.name)

    def _occupancy_changed(self, hospital: Hospital) -> None:
        """Record a hospital's new occupancy and move the region total by the same change."""
        now = self.env.now
        probe = self.hospital_probes[hospital.name]
        change = hospital.occupied - probe.value
        probe.update(now, hospital.occupied)
        self.occupied_probe.update(now, self.occupied_probe.value + change)
        self._status_changed(hospital)

    def _status_changed(self, hospital: Hospital) -> None:
        """Publish ``accepting.<hospital>`` when the hospital starts or stops diverting."""
        accepting = hospital.waiting == 0 and any(p.has_free_bed() for p in hospital.pools.values() if p.base)
        if accepting is not hospital.accepting:
            hospital.accepting = accepting
            self.world.services.publish(f"{self.name}.accepting.{hospital.name}", 1.0 if accepting else 0.0)

    # ------------------------------------------------------------------------- strategies --
    def _try_transfer(self, patient: Patient) -> bool:
        """Move a patient to the nearest hospital with a free bed within reach (bed held en route).

        Candidates come from the region's Mesa AgentSet: hospitals with a free bed of the needed
        type and nobody already waiting for one.
        """
        limit = float(self.transfer.max_travel_min)  # type: ignore[union-attr]
        origin = patient.home.name
        reachable = self.travel_min[origin]
        bed = patient.bed
        free = self.agents.select(
            lambda agent: agent.name != origin and reachable[agent.name] <= limit
            and agent.state.pools[bed].waiting == 0 and agent.state.pools[bed].has_free_bed())
        if not free:
            return False
        target = min(free, key=lambda agent: reachable[agent.name]).state
        if patient.waiting:
            self._unqueue(patient)
        patient.home.counts["transferred_out"] += 1
        target.counts["transferred_in"] += 1
        self.admit(patient, target, travel_h=reachable[target.name] / 60.0)
        return True

    def _review_transfers(self, every_h: float) -> Iterator:
        """Process: every ``every_h`` hours, try to move boarding patients elsewhere."""
        while True:
            yield self.env.timeout(every_h)
            for hospital in self.hospitals.values():
                for pool in hospital.pools.values():
                    if pool.waiting:
                        for patient in [p for p in pool.queue if p.waiting]:
                            if not self._try_transfer(patient):
                                break

    def _surge_monitor(self, plan: SurgeBeds) -> Iterator:
        """Process: hourly, open surge beds past the threshold (after the delay), close them after."""
        names = plan.hospitals or list(self.hospitals)
        while True:
            for name in names:
                hospital = self.hospitals[name]
                occupancy = hospital.occupancy()
                if not hospital.surge_open and not hospital.surge_pending and occupancy > float(plan.threshold):
                    hospital.surge_pending = True
                    self.world.at(self.env.now + float(plan.delay),
                                  lambda h=hospital: self._open_surge(h, plan))
                elif hospital.surge_open and occupancy < float(plan.release_below):
                    self._close_surge(hospital)
            yield self.env.timeout(1.0)

    def _open_surge(self, hospital: Hospital, plan: SurgeBeds) -> None:
        hospital.surge_pending = False
        hospital.surge_open = True
        pool = hospital.pools["ward"]
        pool.extra = int(round(float(plan.extra_share) * pool.base))
        pool.refresh()
        self.extra_probe.update(self.env.now, self.extra_probe.value + pool.extra)
        self.world.recorder.event("surge_beds_open", f"{hospital.name} +{pool.extra}")
        self._serve(hospital, pool)

    def _close_surge(self, hospital: Hospital) -> None:
        pool = hospital.pools["ward"]
        self.extra_probe.update(self.env.now, self.extra_probe.value - pool.extra)
        pool.extra = 0
        pool.refresh()
        hospital.surge_open = False

    # ------------------------------------------------------------------------------ results --
    def kpis(self) -> dict[str, float]:
        """KPIs over the measured window (from the end of the warm-up to the horizon).

        ``share_turned_away`` divides by the patients who arrived in that window, not by the
        patients already in bed when it began.
        """
        hospitals = list(self.hospitals.values())
        arrived = sum(self.measured(h, "arrived") for h in hospitals)
        turned_away = sum(self.measured(h, "turned_away") for h in hospitals)
        waits = np.asarray(self.waits) if self.waits else np.zeros(1)
        above = [p.above_h[next(iter(p.above_h))] for p in self.hospital_probes.values()]
        return {
            "patients_turned_away": float(turned_away),
            "share_turned_away": turned_away / arrived if arrived else 0.0,
            "mean_boarding_wait_h": float(waits.mean()),
            "p95_boarding_wait_h": float(np.percentile(waits, 95)),
            "peak_occupancy": self.occupied_probe.peak / self.base_beds if self.base_beds else 0.0,
            "hours_above_90pct": float(np.mean(above)),
            "transfers": float(sum(self.measured(h, "transferred_out") for h in hospitals)),
            "bed_hours_short": float(self.waiting_probe.area),
            "surge_bed_hours": float(self.extra_probe.area),
            "electives_cancelled": float(sum(self.measured(h, "electives_cancelled") for h in hospitals)),
            "casualties_received": float(sum(self.measured(h, "casualties") for h in hospitals)),
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        rows = []
        for hospital in self.hospitals.values():
            probe = self.hospital_probes[hospital.name]
            rows.append({"hospital": hospital.name, **hospital.counts,
                         "in_bed": hospital.occupied, "waiting": hospital.waiting,
                         "mean_occupied": probe.mean(self.env.now), "peak_occupied": probe.peak,
                         "beds": hospital.base_beds})
        occupancy = pd.DataFrame(self.history, columns=["time_h", "hospital", "occupied", "capacity", "waiting"])
        return {"hospitals": pd.DataFrame(rows), "occupancy": occupancy}

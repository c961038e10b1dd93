"""A region's hospitals under patient surges, bed losses and staff shortages."""

from __future__ import annotations

import math
from typing import Any

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import SYSTEM, Consumes, Service, SystemPlugin
from twinworld.systems.hospital.config import Census, HospitalRegionConfig
from twinworld.systems.hospital.example import example
from twinworld.systems.hospital.disruptions import DISRUPTIONS
from twinworld.systems.hospital.kpis import KPIS
from twinworld.systems.hospital.model import STREAMS, HospitalRegion
from twinworld.systems.hospital.state import HospitalRegionState, HospitalState
from twinworld.systems.hospital.strategies import STRATEGIES
from twinworld.systems.hospital.workload import estimate_events

__all__ = ["plugin", "HospitalRegion", "HospitalRegionConfig", "HospitalRegionState", "HospitalState"]


def check(config: HospitalRegionConfig) -> list[Problem]:
    """References inside the section: travel times name hospitals, census fits the beds."""
    hospitals = set(config.hospital_names())
    valid = ", ".join(config.hospital_names()[:12])
    problems = []
    for origin, row in (config.travel_time_min or {}).items():
        if origin not in hospitals:
            problems.append(Problem(f"no hospital {origin!r}", f"travel_time_min.{origin}", valid=valid))
        for other, minutes in row.items():
            if other not in hospitals:
                problems.append(Problem(f"no hospital {other!r}", f"travel_time_min.{origin}", valid=valid))
            elif not math.isfinite(minutes) or minutes < 0:
                problems.append(Problem(f"travel time must be a finite number of minutes >= 0; got "
                                        f"{minutes!r}", f"travel_time_min.{origin}.{other}"))
    for i, spec in enumerate(config.hospitals):
        census = spec.census
        if census is not None and (census.ward > spec.ward_beds or census.icu > spec.icu_beds):
            problems.append(Problem(f"census ({census.ward} ward, {census.icu} ICU) exceeds the beds "
                                    f"({spec.ward_beds} ward, {spec.icu_beds} ICU)", f"hospitals.{i}.census"))
    for i, klass in enumerate(config.patient_classes):
        if klass.bed == "icu" and not any(h.icu_beds for h in config.hospitals):
            problems.append(Problem(f"patient class {klass.name!r} needs ICU beds but no hospital has any",
                                    f"patient_classes.{i}.bed", valid="ward"))
    return problems


def prepare(config: HospitalRegionConfig, files: Any) -> HospitalRegionConfig:
    """Read ``census_csv`` (if given) into each hospital's warm-start census."""
    if config.census_csv is None:
        return config
    from twinworld.feeds.census import read_census_csv

    path = files.resolve(config.census_csv, path="census_csv", kind="census")
    beds = {spec.name: (spec.ward_beds, spec.icu_beds) for spec in config.hospitals}
    try:
        census = read_census_csv(path, hospitals=config.hospital_names(), beds=beds)
    except FeedError as err:
        raise ScenarioError.single(str(err), path="census_csv") from None
    hospitals = [spec.model_copy(update={"census": Census(ward=census[spec.name][0], icu=census[spec.name][1])})
                 if spec.name in census else spec for spec in config.hospitals]
    return config.model_copy(update={"hospitals": hospitals})


def elements(config: HospitalRegionConfig) -> dict[str, str]:
    return {name: "hospital" for name in config.hospital_names()}


def locations(config: HospitalRegionConfig) -> dict[str, tuple[float, float]]:
    return {h.name: h.location for h in config.hospitals if h.location is not None}


plugin = SystemPlugin(
    kind="hospital_region",
    config=HospitalRegionConfig,
    build=HospitalRegion,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    elements=elements,
    element_types={"hospital": "a hospital with staffed ward and ICU beds"},
    services=(
        Service("accepting.{hospital}", "1 while the hospital has a free bed and nobody boarding, "
                "else 0 (it would divert ambulances)", kinds=("casualties", "priority")),
        Service("occupancy.{hospital}", "beds in use / staffed beds at the start", unit="share",
                high=math.inf, kinds=("priority",)),
    ),
    consumes=(Consumes("hospital", ("power", "supply"), "ward and ICU beds of the hospital", criticality=5),
              Consumes(SYSTEM, ("power", "supply"), "ward and ICU beds of every hospital", criticality=5),
              Consumes(SYSTEM, ("road_travel",), "ambulance travel times between hospitals (transfers)"),
              Consumes("hospital", ("casualties",), "emergency arrivals: the injured brought to it"),
              Consumes(SYSTEM, ("casualties",), "emergency arrivals: the injured, at the hospital they are "
                                                "brought to")),
    observable=HospitalRegionState,
    streams=STREAMS,
    check=check,
    prepare=prepare,
    example=example,
    locations=locations,
    description="Hospitals with ward and ICU beds, emergency and elective arrivals, boarding and transfers.",
)

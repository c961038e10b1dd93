"""A region's hospitals under patient surges, bed losses and staff shortages."""

from __future__ import annotations

from typing import Any

from twinworld.errors import FeedError, Problem, ScenarioError
from twinworld.systems.base import SystemPlugin, target_element, target_system
from twinworld.systems.hospital.config import Census, HospitalRegionConfig
from twinworld.systems.hospital.disruptions import DISRUPTIONS
from twinworld.systems.hospital.kpis import KPIS
from twinworld.systems.hospital.model import HospitalRegion
from twinworld.systems.hospital.strategies import STRATEGIES, SurgeBeds, Transfer
from twinworld.systems.hospital.travel import has_any_route
from twinworld.systems.hospital.workload import estimate_events

__all__ = ["plugin", "HospitalRegion", "HospitalRegionConfig"]


def check(scenario: Any, name: str, config: HospitalRegionConfig) -> list[Problem]:
    """Targets and references that name hospitals must name real ones."""
    hospitals = config.hospital_names()
    known = set(hospitals)
    valid = ", ".join(hospitals)
    problems = []
    for i, disruption in enumerate(scenario.disruptions):
        element = target_element(disruption.target)
        if target_system(disruption.target) == name and element is not None and element not in known:
            problems.append(Problem(f"no hospital {element!r} in system {name!r}",
                                    f"disruptions.{i}.target", valid=f"{name} or {name}.<one of {valid}>"))
    for strategy, parts in scenario.strategies.items():
        for lever_index, lever in enumerate(parts.get(name, ())):
            where = f"strategies.{strategy}.{name}" + (f".{lever_index}" if len(parts[name]) > 1 else "")
            if isinstance(lever, SurgeBeds):
                for bad in sorted(set(lever.hospitals or []) - known):
                    problems.append(Problem(f"no hospital {bad!r}", f"{where}.hospitals", valid=valid))
            if isinstance(lever, Transfer) and len(hospitals) > 1 and not has_any_route(config):
                problems.append(Problem("transfer needs travel times: give travel_time_min or each "
                                        "hospital's location", where))
    for origin, row in (config.travel_time_min or {}).items():
        for other in [origin, *row]:
            if other not in known:
                problems.append(Problem(f"no hospital {other!r}", f"systems.{name}.travel_time_min",
                                        valid=valid))
    for i, spec in enumerate(config.hospitals):
        census = spec.census
        if census is not None and (census.ward > spec.ward_beds or census.icu > spec.icu_beds):
            problems.append(Problem(f"census ({census.ward} ward, {census.icu} ICU) exceeds the beds "
                                    f"({spec.ward_beds} ward, {spec.icu_beds} ICU)",
                                    f"systems.{name}.hospitals.{i}.census"))
    for i, klass in enumerate(config.patient_classes):
        if klass.bed == "icu" and not any(h.icu_beds for h in config.hospitals):
            problems.append(Problem(f"patient class {klass.name!r} needs ICU beds but no hospital has any",
                                    f"systems.{name}.patient_classes.{i}.bed", valid="ward"))
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


plugin = SystemPlugin(
    kind="hospital_region",
    config=HospitalRegionConfig,
    build=HospitalRegion,
    disruptions=DISRUPTIONS,
    strategies=STRATEGIES,
    kpis=KPIS,
    estimate_events=estimate_events,
    check=check,
    prepare=prepare,
    description="Hospitals with ward and ICU beds, emergency and elective arrivals, boarding and transfers.",
)

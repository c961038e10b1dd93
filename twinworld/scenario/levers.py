"""Levers: the strategy settings an optimiser may change, within ranges or among choices.

A scenario's ``levers:`` section names one of its strategies as the *template* and the settings of
it that may vary; every candidate the optimiser tries is that strategy with those settings changed
(everything else as written). It also says what a candidate is judged on (objectives: a KPI and a
risk measure of the ranking) and how hard to search::

    levers:
      strategy: combined
      vary:
        surge_threshold: {field: hospitals.surge_beds.threshold, range: [0.80, 0.98]}
        max_travel_min:  {field: hospitals.transfer.max_travel_min, range: [20, 90], step: 5}
        crews:           {field: grid.crew_dispatch.crews, range: [2, 8], integer: true}
        stage_delay:     {field: roads.staged.stages.1.delay, range: [0h, 3h]}
        priority:        {field: grid.crew_dispatch.priority, choice: [fifo, critical_first]}
      objectives:
        - {kpi: patients_turned_away, risk: cvar}
        - {kpi: surge_bed_hours, risk: mean}
      search: {scenarios: 30, population: 20, generations: 10}

A lever's ``field`` is ``<system>.<strategy kind>[.<n>].<field>[...]``: the system the template's
part acts on, the kind of that part (``.<n>`` picks among several of one kind, counting from 0),
then the field inside it (list items by index). The named strategies are the search's starting
points: each lends the values it sets for the levers' fields.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from twinworld.errors import Problem
from twinworld.params import Dist
from twinworld.systems.base import Frozen, StrategyConfig
from twinworld.units import parse_duration

__all__ = ["Lever", "Objective", "SearchSettings", "LeverSettings", "RISKS", "check_levers",
           "candidate_parts", "lever_value_at", "starting_points", "LeverPathError"]

RISKS = ("mean", "cvar", "max_regret", "mean_regret", "median", "p90")  # as analysis.stats
Scalar = float | int | str | bool


class LeverPathError(ValueError):
    """A lever's ``field`` does not name a setting of the template strategy."""


def _number(value: Any) -> float:
    """A range end: a number, or a duration written with its unit (in hours)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{str(value)[:40]} is not a number or a duration such as 3h")
    number = parse_duration(value) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, not {value!r}")
    return number


class Lever(Frozen):
    """One setting of the template strategy that may vary: a range, or a list of choices."""

    field: str = Field(description="<system>.<strategy kind>[.<n>].<field>, e.g. "
                                   "hospitals.surge_beds.threshold")
    range: tuple[float, float] | None = Field(None, description="[low, high]; durations may carry "
                                                                "units (0h, 3h)")
    step: float | None = Field(None, gt=0, description="range: only low + k * step")
    integer: bool = Field(False, description="range: whole numbers only")
    choice: list[Scalar] | None = Field(None, min_length=1, description="the values it may take")

    @field_validator("range", mode="before")
    @classmethod
    def _range_numbers(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError("needs [low, high]")
        return tuple(_number(v) for v in value)

    @field_validator("step", mode="before")
    @classmethod
    def _step_number(cls, value: Any) -> Any:
        return None if value is None else _number(value)

    @field_validator("choice")
    @classmethod
    def _finite_choices(cls, value: list[Scalar] | None) -> list[Scalar] | None:
        for item in value or []:
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"choices must be finite, not {item!r}")
        if value is not None and len({repr(v) for v in value}) != len(value):
            raise ValueError("choices must differ from each other")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "Lever":
        if (self.range is None) == (self.choice is None):
            raise ValueError("give exactly one of range: [low, high] or choice: [v1, v2, ...]")
        if self.range is not None:
            low, high = self.range
            if not low < high:
                raise ValueError(f"range low {low:g} must be below high {high:g}")
            if self.integer and (low != int(low) or high != int(high)):
                raise ValueError("an integer lever needs whole-number range ends")
            if self.step is not None and self.integer and self.step != int(self.step):
                raise ValueError("an integer lever needs a whole-number step")
        elif self.step is not None or self.integer:
            raise ValueError("step and integer apply to a range, not to choices")
        return self

    def grid(self) -> list[Scalar] | None:
        """Every value the lever may take, when there are finitely many (else None)."""
        if self.choice is not None:
            return list(self.choice)
        low, high = self.range  # type: ignore[misc]
        step = self.step or (1.0 if self.integer else None)
        if step is None:
            return None
        count = int(math.floor((high - low) / step + 1e-9))
        values = [low + k * step for k in range(count + 1)]
        return [int(round(v)) for v in values] if self.integer else [round(v, 12) for v in values]


class Objective(Frozen):
    """A KPI and the risk measure (over the sampled scenarios) that a candidate is judged by."""

    kpi: str
    risk: Literal["mean", "cvar", "max_regret", "mean_regret", "median", "p90"] | None = Field(
        None, description="default: ranking.risk")

    def label(self, cvar_alpha: float) -> str:
        risk = self.risk or "mean"
        return f"{self.kpi} {f'CVaR{round(cvar_alpha * 100)}' if risk == 'cvar' else risk}"


class SearchSettings(Frozen):
    """How hard to search: the sampled scenarios every candidate faces and the evolutionary budget."""

    scenarios: int = Field(20, ge=2, description="sampled scenarios every candidate is run on")
    replications: int = Field(1, ge=1)
    design: Literal["lhs", "mc"] = "lhs"
    population: int = Field(16, ge=4, description="candidates per generation")
    generations: int = Field(10, ge=1)
    max_evaluations: int | None = Field(None, ge=1, description="most distinct candidates to run")
    seed: int | None = Field(None, description="default: the scenario's seed")
    validation_scenarios: int = Field(50, ge=2, description="fresh scenarios a saved strategy is "
                                                            "ranked on")


class LeverSettings(Frozen):
    """The ``levers:`` section: a template strategy, what may vary, the objectives, the budget."""

    strategy: str = Field(description="the named strategy whose settings the levers change")
    vary: dict[str, Lever] = Field(min_length=1, description="lever name -> field and range or choice")
    objectives: list[Objective] = Field(default_factory=list,
                                        description="default: the ranking's primary KPI and risk")
    search: SearchSettings = SearchSettings()

    @field_validator("vary")
    @classmethod
    def _names(cls, value: dict[str, Lever]) -> dict[str, Lever]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"lever name {name!r} must be a word (letters, digits, _)")
        fields = [lever.field for lever in value.values()]
        repeated = sorted({f for f in fields if fields.count(f) > 1})
        if repeated:
            raise ValueError(f"two levers change the same field: {', '.join(repeated)}")
        return value


# ------------------------------------------------------------------------------ field paths --
def _split(path: str, parts: dict[str, tuple[StrategyConfig, ...]]) -> tuple[str, int, list[str]]:
    """``hospitals.surge_beds.threshold`` -> (system, index of that lever in the part, rest)."""
    words = path.split(".")
    if len(words) < 3:
        raise LeverPathError("needs <system>.<strategy kind>.<field>, e.g. hospitals.surge_beds.threshold")
    system, kind, rest = words[0], words[1], words[2:]
    if system not in parts:
        raise LeverPathError(f"the template strategy does not act on system {system!r}; it acts on: "
                             f"{', '.join(parts) or '(nothing)'}")
    indices = [i for i, lever in enumerate(parts[system]) if lever.kind == kind]
    if not indices:
        kinds = [lever.kind for lever in parts[system]]
        close = difflib.get_close_matches(kind, kinds, n=1)
        raise LeverPathError(f"the template strategy has no {kind!r} part on {system!r}"
                             + (f"; did you mean {close[0]!r}?" if close else "")
                             + f" (it has: {', '.join(kinds)})")
    which = 0
    if rest and rest[0].isdigit() and len(indices) > 1:
        which, rest = int(rest[0]), rest[1:]
        if which >= len(indices):
            raise LeverPathError(f"there are {len(indices)} {kind!r} parts on {system!r}; "
                                 f"index {which} is past them")
    elif len(indices) > 1:
        raise LeverPathError(f"the template has {len(indices)} {kind!r} parts on {system!r}; "
                             f"say which: {system}.{kind}.0.<field>")
    if not rest:
        raise LeverPathError("names a strategy part, not a field inside it")
    return system, indices[which], rest


def _get(data: Any, rest: Sequence[str]) -> Any:
    """The value at ``rest`` inside a strategy part (a model, or its data), by field and index."""
    node = data
    for i, key in enumerate(rest):
        if isinstance(node, (list, tuple)):
            if not key.isdigit() or int(key) >= len(node):
                raise LeverPathError(f"{'.'.join(rest[:i + 1])}: index out of range "
                                     f"(there are {len(node)} items)")
            node = node[int(key)]
            continue
        fields = list(type(node).model_fields) if isinstance(node, BaseModel) else (
            list(node) if isinstance(node, dict) else None)
        if fields is None:
            raise LeverPathError(f"{'.'.join(rest[:i])} is a value, not a mapping or list")
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            raise LeverPathError(f"no field {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                                 + f" (fields: {', '.join(fields)})")
        node = getattr(node, key) if isinstance(node, BaseModel) else node[key]
    return node


def _set(data: Any, rest: Sequence[str], value: Any) -> None:
    node = data
    for key in rest[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = rest[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _lever_data(lever: StrategyConfig) -> dict[str, Any]:
    """A strategy part as plain data (distributions as written, durations in hours)."""
    return lever.model_dump(mode="python")


def lever_value_at(parts: dict[str, tuple[StrategyConfig, ...]], path: str) -> Any:
    """The value a strategy sets at a lever's ``field`` (raises LeverPathError if it has none)."""
    system, index, rest = _split(path, parts)
    value = _get(parts[system][index], rest)
    if isinstance(value, (dict, list, tuple, BaseModel)):
        raise LeverPathError(f"{path} holds a {'mapping' if isinstance(value, dict) else 'list'}, "
                             "not a single setting")
    return value


def candidate_parts(template: dict[str, tuple[StrategyConfig, ...]], levers: dict[str, Lever],
                    values: dict[str, Any], *, context: Any = None) -> dict[str, tuple[StrategyConfig, ...]]:
    """The template strategy with each lever's field set to ``values[name]``, validated again.

    Raises
    ------
    ValueError
        A value the strategy's own model refuses (out of its bounds), or a bad field path.
    """
    data: dict[str, list[dict[str, Any]]] = {s: [_lever_data(p) for p in ps] for s, ps in template.items()}
    for name, lever in levers.items():
        system, index, rest = _split(lever.field, template)
        _get(data[system][index], rest)
        _set(data[system][index], rest, values[name])
    out: dict[str, tuple[StrategyConfig, ...]] = {}
    for system, items in data.items():
        out[system] = tuple(type(template[system][i]).model_validate(item, context=context)
                            for i, item in enumerate(items))
    return out


def starting_points(strategies: dict[str, dict[str, tuple[StrategyConfig, ...]]],
                    settings: LeverSettings) -> dict[str, dict[str, Any]]:
    """Each named strategy's values for the levers (the template's where it sets none).

    Values outside a lever's range are clipped to it; a value not among a lever's choices is
    replaced by the template's. Strategies that set none of the levers' fields are left out.
    """
    template = strategies[settings.strategy]
    base = {name: lever_value_at(template, lever.field) for name, lever in settings.vary.items()}
    points: dict[str, dict[str, Any]] = {}
    for strategy, parts in strategies.items():
        values, own = dict(base), 0
        for name, lever in settings.vary.items():
            try:
                value = lever_value_at(parts, lever.field)
            except LeverPathError:
                continue
            if isinstance(value, Dist):
                continue
            own += 1
            values[name] = _fit(lever, value, base[name])
        if own or strategy == settings.strategy:
            points[strategy] = values
    return points


def _fit(lever: Lever, value: Any, fallback: Any) -> Any:
    if lever.choice is not None:
        return value if value in lever.choice else fallback
    low, high = lever.range  # type: ignore[misc]
    number = min(max(float(value), low), high)
    grid = lever.grid()
    if grid is not None:
        number = min(grid, key=lambda g: abs(float(g) - number))
    return int(number) if lever.integer else number


# -------------------------------------------------------------------------------- checks --
def check_levers(scenario: Any, known_kpis: Sequence[str]) -> list[Problem]:
    """Cross-checks of ``levers:`` against the scenario: template, fields, ranges, objectives."""
    settings: LeverSettings | None = getattr(scenario, "levers", None)
    if settings is None:
        return []
    if settings.strategy not in scenario.strategies:
        close = difflib.get_close_matches(settings.strategy, list(scenario.strategies), n=1)
        return [Problem(f"unknown strategy {settings.strategy!r}"
                        + (f"; did you mean {close[0]!r}?" if close else ""), "levers.strategy",
                        valid=", ".join(scenario.strategies))]
    template = scenario.strategies[settings.strategy]
    problems = [p for name, lever in settings.vary.items()
                for p in _check_field(scenario, template, name, lever)]
    if not problems:
        problems += _check_fixed(settings, template)
    if not problems:  # trying range ends needs every field to resolve
        for name, lever in settings.vary.items():
            problems += _check_values(scenario, template, name, lever)
    for i, objective in enumerate(settings.objectives):
        if objective.kpi not in known_kpis:
            close = difflib.get_close_matches(objective.kpi, list(known_kpis), n=1)
            problems.append(Problem(f"unknown KPI {objective.kpi!r}"
                                    + (f"; did you mean {close[0]!r}?" if close else ""),
                                    f"levers.objectives.{i}.kpi", valid=", ".join(known_kpis)))
    kpis = [o.kpi for o in settings.objectives]
    for i, objective in enumerate(settings.objectives):
        same = [j for j, o in enumerate(settings.objectives) if (o.kpi, o.risk) == (objective.kpi, objective.risk)]
        if same[0] != i:
            problems.append(Problem(f"objective {objective.kpi} / {objective.risk} is listed twice",
                                    f"levers.objectives.{i}"))
    if not kpis and scenario.ranking.primary is None and not scenario.kpis:
        problems.append(Problem("no objectives: list some (or set ranking.primary, or kpis)",
                                "levers.objectives", valid="e.g. [{kpi: patients_turned_away, risk: cvar}]"))
    return problems


def _check_field(scenario: Any, template: dict[str, tuple[StrategyConfig, ...]], name: str,
                 lever: Lever) -> list[Problem]:
    where = f"levers.vary.{name}.field"
    try:
        current = lever_value_at(template, lever.field)
    except LeverPathError as err:
        return [Problem(str(err), where)]
    if isinstance(current, Dist):
        return [Problem(f"the template strategy {scenario.levers.strategy!r} makes {lever.field} uncertain "
                        "(a distribution); a lever must be a setting the planner chooses",
                        where, valid="a fixed value in the template")]
    return []


def _check_fixed(settings: LeverSettings, template: dict[str, tuple[StrategyConfig, ...]]) -> list[Problem]:
    """Candidates must be fixed strategies: no distribution left in the template's other settings."""
    from twinworld.scenario.uncertain import _walk

    uncertain = [path for system, parts in template.items() for j, part in enumerate(parts)
                 for path, _ in _walk(part, f"{system}.{part.kind}" + (f".{j}" if len(parts) > 1 else ""))]
    if not uncertain:
        return []
    return [Problem(f"the template strategy {settings.strategy!r} has uncertain settings "
                    f"({', '.join(uncertain)}); every candidate must be a fixed strategy",
                    "levers.strategy", valid="a strategy with fixed values")]


def _check_values(scenario: Any, template: dict[str, tuple[StrategyConfig, ...]], name: str,
                  lever: Lever) -> list[Problem]:
    """Each range end (or choice) must be a value the strategy's own model accepts."""
    ends = list(lever.choice) if lever.choice is not None else list(lever.range or ())
    context = {"registry": scenario.registry, "system_kinds": scenario.system_kinds()}
    base = {n: lever_value_at(template, other.field) for n, other in scenario.levers.vary.items()}
    for value in ends:
        trial = {**base, name: int(value) if lever.integer else value}
        try:
            candidate_parts(template, scenario.levers.vary, trial, context=context)
        except ValueError as err:
            errors = err.errors() if hasattr(err, "errors") else []
            reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in errors) or str(err)
            return [Problem(f"{value!r} is not a valid {lever.field}: {reason}",
                            f"levers.vary.{name}.{'choice' if lever.choice is not None else 'range'}")]
    return []

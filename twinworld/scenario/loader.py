"""Load a scenario file: YAML -> validated, frozen :class:`Scenario`, or one clear error.

Every problem is reported with the file, line and column of the offending YAML node, the field path
and what would be valid. File references inside a scenario are read here (through the plugins'
``prepare`` hooks and :mod:`twinworld.feeds`) and confined to the scenario's ``data_dir``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from twinworld.errors import Problem, ScenarioError, TwinworldError
from twinworld.scenario.contract import check_contract
from twinworld.scenario.files import ScenarioFiles
from twinworld.scenario.model import Scenario
from twinworld.scenario.places import link_places
from twinworld.scenario.registry import Registry, default_registry
from twinworld.scenario.safe_yaml import load_yaml, read_scenario_text, scan_yaml
from twinworld.scenario.workload import work_problems

__all__ = ["load_scenario", "ScenarioFiles", "apply_overrides", "read_yaml"]

_Loc = tuple[Any, ...]


# ----------------------------------------------------------------------------------- YAML --
class _Node:
    """Line/column index of a YAML document: maps a field path to where it was written.

    The node tree is composed only when a position is first asked for (that is, on an error).
    """

    def __init__(self, node: yaml.Node | None = None, *, text: str | None = None) -> None:
        self._node = node
        self._text = text

    @property
    def node(self) -> yaml.Node | None:
        if self._node is None and self._text is not None:
            try:
                self._node = yaml.compose(self._text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError:
                pass
            self._text = None
        return self._node

    def find(self, loc: Iterable[Any], *, key: bool = False) -> tuple[int | None, int | None]:
        node = self.node
        best = node
        key_node = None
        for part in loc:
            key_node = None
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
                if match is None:
                    break
                key_node, node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                break
            best = node
        target = key_node if key and key_node is not None else best
        if target is None:
            return None, None
        return target.start_mark.line + 1, target.start_mark.column + 1


def read_yaml(text: str, file: str | Path | None) -> tuple[Any, _Node]:
    """Parse YAML safely within the work limits, returning the data and a position index.

    Size, nesting depth, alias expansion and repeated keys are checked before anything is built
    (:mod:`twinworld.scenario.safe_yaml`); syntax errors become a :class:`ScenarioError`.
    """
    if not text.strip():
        raise ScenarioError.single(
            "the file is empty; a scenario needs at least: twinworld: 1, name, horizon, systems",
            file=file, line=1, column=1)
    scan_yaml(text, file)
    return load_yaml(text, file), _Node(text=text)


# ----------------------------------------------------------------------- error messages --
def _model_at(data: Any, loc: _Loc, registry: Registry) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for 'valid fields' hints)."""
    from twinworld.systems.base import target_system

    model: type[BaseModel] | None = Scenario
    node = data
    i = 0
    while i < len(loc) and model is not None:
        part = loc[i]
        if model is Scenario and part == "systems" and i + 1 < len(loc):
            node = (node or {}).get("systems", {}).get(loc[i + 1], {})
            kind = node.get("kind") if isinstance(node, dict) else None
            model = registry.get(kind).config if kind in registry else None
            i += 2
            continue
        if model is Scenario and part == "disruptions" and i + 1 < len(loc):
            items = (node or {}).get("disruptions") or []
            node = items[loc[i + 1]] if isinstance(loc[i + 1], int) and loc[i + 1] < len(items) else {}
            systems = (data.get("systems") or {}) if isinstance(data, dict) else {}
            system = systems.get(target_system(str(node.get("target", "")))) if isinstance(node, dict) else None
            kind = system.get("kind") if isinstance(system, dict) else None
            model = (registry.get(kind).disruption_model(str(node.get("kind")))
                     if kind in registry else None)
            i += 2
            continue
        if model is Scenario and part == "strategies" and i + 2 < len(loc):
            systems = (data.get("systems") or {}) if isinstance(data, dict) else {}
            levers = ((node or {}).get("strategies") or {}).get(loc[i + 1], {}).get(loc[i + 2], {})
            j = i + 3
            if isinstance(levers, list):
                levers = levers[loc[j]] if j < len(loc) and isinstance(loc[j], int) else {}
                j += 1
            system = systems.get(loc[i + 2], {})
            kind = system.get("kind") if isinstance(system, dict) else None
            model = (registry.get(kind).strategy_model(str(levers.get("kind")))
                     if kind in registry and isinstance(levers, dict) else None)
            node, i = levers, j
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return model if i == len(loc) - 1 else None
        node = node.get(str(part)) if isinstance(node, dict) else None
        model = _first_model(field.annotation)
        i += 1
        while i < len(loc) and isinstance(loc[i], int) or (
                i < len(loc) and model is None and isinstance(node, dict) and loc[i] in node):
            node = node[loc[i]] if isinstance(node, (list, dict)) and loc[i] in (
                node if isinstance(node, dict) else range(len(node))) else None
            model = _first_model(field.annotation)
            i += 1
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _fields_hint(model: type[BaseModel] | None, wrong: str | None = None) -> tuple[str, str]:
    if model is None:
        return "", ""
    names = list(model.model_fields)
    close = difflib.get_close_matches(wrong, names, n=1, cutoff=0.6) if wrong else []
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return suggestion, ", ".join(names)


def _problem_from(error: Mapping[str, Any], data: Any, index: _Node, registry: Registry) -> Problem:
    loc: _Loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc)
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    valid = ""
    if kind == "extra_forbidden":
        suggestion, valid = _fields_hint(_model_at(data, loc[:-1], registry), str(loc[-1]))
        message = f"unknown field {loc[-1]!r}{suggestion}"
        line, column = index.find(loc, key=True)
    elif kind == "missing":
        _, valid = _fields_hint(_model_at(data, loc[:-1], registry))
        message = f"missing required field {loc[-1]!r}"
        line, column = index.find(loc[:-1])
    elif kind == "literal_error":
        valid = str(error.get("ctx", {}).get("expected", ""))
        message = f"got {error.get('input')!r}"
        line, column = index.find(loc)
    elif kind == "finite_number":
        message = f"must be a finite number; got {error.get('input')!r}"
        line, column = index.find(loc)
    elif kind in _BOUNDS:
        ctx = error.get("ctx") or {}
        bound = next(iter(ctx.values()), "")
        message = f"must be {_BOUNDS[kind]} {bound}; got {error.get('input')!r}"
        line, column = index.find(loc)
    else:
        line, column = index.find(loc)
    return Problem(message, path, line, column, valid)


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _problems_from(errors: list[Any], data: Any, index: _Node, registry: Registry) -> list[Problem]:
    """One problem per error, dropping a 'missing x' that a typo of x next to it explains."""
    typos = {(tuple(e["loc"][:-1]), close) for e in errors if e["type"] == "extra_forbidden"
             for close in difflib.get_close_matches(str(e["loc"][-1]), _names_at(data, e["loc"][:-1], registry),
                                                    n=1, cutoff=0.6)}
    kept = [e for e in errors
            if not (e["type"] == "missing" and (tuple(e["loc"][:-1]), str(e["loc"][-1])) in typos)]
    return [_problem_from(e, data, index, registry) for e in kept]


def _names_at(data: Any, loc: _Loc, registry: Registry) -> list[str]:
    model = _model_at(data, tuple(loc), registry)
    return list(model.model_fields) if model is not None else []


# ------------------------------------------------------------------------------- loading --
def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply dotted-path edits like ``sweep.scenarios=100`` (values parsed as YAML scalars)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ScenarioError.single(f"override {item!r} is not PATH=VALUE",
                                       valid="e.g. sweep.scenarios=100")
        value = _override_value(key, raw)
        target: Any = data
        parts = key.split(".")
        for part in parts[:-1]:
            if isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            elif isinstance(target, list):
                raise ScenarioError.single(f"cannot set {key!r}: no item {part!r} in a list of "
                                           f"{len(target)}", path=key)
            elif isinstance(target, dict):
                target = target.setdefault(part, {})
            else:
                raise ScenarioError.single(f"cannot set {key!r}: {part!r} is not a mapping", path=key)
        last = parts[-1]
        if isinstance(target, list) and last.isdigit() and int(last) < len(target):
            target[int(last)] = value
        elif isinstance(target, dict):
            target[last] = value
        else:
            raise ScenarioError.single(f"cannot set {key!r}: no item {last!r} there", path=key)
    return data


def _override_value(key: str, raw: str) -> Any:
    """The YAML value of one ``--set PATH=VALUE``, within the same limits as a scenario file."""
    if not raw.strip():
        return None
    try:
        scan_yaml(raw, None)
        return load_yaml(raw, None)
    except ScenarioError as err:
        raise ScenarioError.single(f"override {key}=...: {err.first.message}", path=key,
                                   valid="a YAML value, e.g. 50, 3d, [1, 2] or {uniform: [1, 2]}") from None


def load_scenario(source: str | Path | Mapping[str, Any], *, registry: Registry | None = None,
                  overrides: Iterable[str] = (), base_dir: str | Path | None = None,
                  data_roots: Iterable[str | Path] = (), allow_large: bool | None = None) -> Scenario:
    """Read, validate and prepare a scenario.

    Parameters
    ----------
    source
        A path to a YAML file, YAML text (anything containing a newline), or an already-parsed mapping.
    registry
        System plugins to use (default: every installed plugin).
    overrides
        Dotted-path edits applied before validation (``["sweep.scenarios=50"]``).
    base_dir
        Folder that relative file references start from (default: the file's folder, or the
        current directory for text).
    data_roots
        Folders besides the scenario's own that ``data_dir`` may lie in (also from the
        ``TWINWORLD_DATA_ROOT`` environment variable).
    allow_large
        Accept runs estimated above :data:`~twinworld.limits.MAX_RUN_EVENTS` events (default: the
        ``TWINWORLD_ALLOW_LARGE`` environment variable).

    Raises
    ------
    ScenarioError
        Everything wrong with it, each with file, line, column, field path and what is valid.
    """
    registry = registry or default_registry()
    file: Path | None = None
    if isinstance(source, Mapping):
        data, index = dict(source), _Node(None)
    else:
        text, file = _read_source(source)
        data, index = read_yaml(text, file)
    if not isinstance(data, dict):
        raise ScenarioError.single(
            f"a scenario must be a mapping of fields, not {type(data).__name__}",
            file=file, line=1, column=1, valid="twinworld, name, horizon, systems, ...")
    data = apply_overrides(data, overrides)
    base = Path(base_dir) if base_dir is not None else (file.parent if file else Path.cwd())
    systems = data.get("systems") if isinstance(data.get("systems"), dict) else {}
    context = {"registry": registry,
               "system_kinds": {n: s.get("kind") for n, s in systems.items()
                                if isinstance(s, dict) and isinstance(s.get("kind"), str)
                                and s.get("kind") in registry}}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as err:
        raise ScenarioError(_problems_from(err.errors(), data, index, registry), file) from None
    problems = _cross_check(scenario, registry)
    roots = tuple(str(r) for r in data_roots)
    try:
        files = ScenarioFiles.for_scenario(scenario.data_dir, scenario_dir=base, roots=roots)
        scenario = _prepare(scenario, registry, files)
        if scenario.sweep.design_csv is not None:
            files.resolve(scenario.sweep.design_csv, path="sweep.design_csv", kind="design_csv")
    except ScenarioError as err:
        raise ScenarioError([_locate(p, index) for p in problems + err.problems], file) from None
    # The contract's cross-checks run after the files are read: a census from a CSV must fit too.
    scenario, linked, places = link_places(scenario, registry)
    problems += linked + [_at_coupling(p, places) for p in check_contract(scenario, registry)]
    if not problems:
        problems = work_problems(scenario, registry, allow_large=allow_large)
    if problems:
        raise ScenarioError([_locate(p, index) for p in problems], file)
    scenario._source = str(file.resolve()) if file else None
    scenario._registry = registry if registry is not default_registry() else None
    scenario._files = files
    scenario._load_options = {"data_roots": roots, "allow_large": allow_large}
    return scenario


def scenario_source(scenario: Scenario) -> str | None:
    """The file a scenario was loaded from, if any."""
    return scenario.source


def _read_source(source: str | Path) -> tuple[str, Path | None]:
    return read_scenario_text(source)


def _locate(problem: Problem, index: _Node) -> Problem:
    if problem.line is not None or not problem.path:
        return problem
    loc = [int(p) if p.isdigit() else p for p in problem.path.split(".")]
    line, column = index.find(loc)
    return Problem(problem.message, problem.path, line, column, problem.valid)


def _at_coupling(problem: Problem, places: dict[str, tuple[int, str]]) -> Problem:
    """A road place added for a coupling that is off the network is reported at the coupling."""
    found = places.get(problem.path)
    if found is None:
        return problem
    index, facility = found
    return Problem(f"{facility}'s location: {problem.message}", f"couplings.{index}.consumer",
                   valid=problem.valid)


def _cross_check(scenario: Scenario, registry: Registry) -> list[Problem]:
    """Checks of the scenario's own sections (strategies, KPIs, labels) that need no data files."""
    problems: list[Problem] = []
    known_kpis = [k.name for config in scenario.systems.values() for k in registry.get(config.kind).kpis]
    if "baseline" not in scenario.strategies:
        problems.append(Problem("no 'baseline' strategy; add `baseline: {}` (doing nothing special) "
                                "so others are compared with it", "strategies"))
    if scenario.warmup >= scenario.horizon:
        problems.append(Problem(f"warmup ({scenario.warmup:g} h) must be shorter than the horizon "
                                f"({scenario.horizon:g} h)", "warmup", valid="a duration below the horizon"))
    for i, kpi in enumerate(scenario.kpis):
        if kpi not in known_kpis:
            close = difflib.get_close_matches(kpi, known_kpis, n=1)
            problems.append(Problem(f"unknown KPI {kpi!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                                    f"kpis.{i}", valid=", ".join(known_kpis)))
    ranking = scenario.ranking
    named = [("ranking.primary", ranking.primary)] + [
        (f"ranking.constraints.{i}.kpi", c.kpi) for i, c in enumerate(ranking.constraints)]
    for path, kpi in named:
        if kpi is not None and kpi not in known_kpis:
            problems.append(Problem(f"unknown KPI {kpi!r}", path, valid=", ".join(known_kpis)))
    from twinworld.scenario.levers import check_levers
    problems += check_levers(scenario, known_kpis)
    labels = [scenario.disruption_label(i) for i in range(len(scenario.disruptions))]
    for i, label in enumerate(labels):
        if label in scenario.systems or labels.count(label) > 1 and labels.index(label) != i:
            problems.append(Problem(f"disruption name {label!r} is used twice or equals a system name",
                                    f"disruptions.{i}.name", valid="a unique name"))
    return problems


def _prepare(scenario: Scenario, registry: Registry, files: ScenarioFiles) -> Scenario:
    systems = dict(scenario.systems)
    changed = False
    for name, config in scenario.systems.items():
        plugin = registry.get(config.kind)
        if plugin.prepare is None:
            continue
        try:
            prepared = plugin.prepare(config, files)
        except ScenarioError as err:
            raise ScenarioError([Problem(p.message, f"systems.{name}.{p.path}" if p.path else f"systems.{name}",
                                         p.line, p.column, p.valid) for p in err.problems]) from None
        except TwinworldError as err:
            raise ScenarioError.single(str(err), path=f"systems.{name}") from None
        if prepared is not config:
            systems[name], changed = prepared, True
    return scenario.model_copy(update={"systems": systems}) if changed else scenario

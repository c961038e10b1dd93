"""``optimize``: robust multi-objective search over a scenario's levers (pymoo).

Every candidate is the ``levers.strategy`` template with the levers set; it runs on the same
sampled scenarios and run seeds as every other candidate (common random numbers), and its
objectives are the ranking's risk measures (mean, CVaR, p90, median, regret against the best named
strategy) of the chosen KPIs. The search is NSGA-II (a GA for one objective, NSGA-III beyond three)
driven ask-and-tell, so the runs go through the sweep engine and its executors
(:func:`twinworld.optimize.evaluate.run_batch`) and land in a resumable store.

>>> result = twinworld.optimize("scenarios/hospital_levers.yaml", "out/levers")   # doctest: +SKIP
>>> result.pareto                                                                 # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.optimize.evaluate import EvaluationOptions, ObjectiveSpec, candidate_scores, minimised, run_batch
from twinworld.optimize.space import LeverSpace, candidate_key
from twinworld.optimize.store import OPTIMIZE_VERSION, OptimizeError, OptimizeStore
from twinworld.scenario.levers import LeverSettings, Objective, candidate_parts, starting_points

__all__ = ["optimize", "OptimizeOptions", "OptimizeResult", "objective_specs", "load_optimization"]


@dataclass(frozen=True)
class OptimizeOptions:
    """Overrides of the scenario's ``levers.search`` and where the runs execute.

    Parameters
    ----------
    evaluation
        Executor, workers, retries and progress bars of every batch of runs.
    generations, population, max_evaluations, scenarios, seed
        Override ``levers.search``.
    objectives
        ``["patients_turned_away:cvar", "surge_bed_hours:mean"]`` (or :class:`Objective`);
        default ``levers.objectives``.
    progress
        Print a line per generation: candidates, runs, the current front.
    registry
        System plugins (default: every installed plugin).
    """

    evaluation: EvaluationOptions = EvaluationOptions()
    generations: int | None = None
    population: int | None = None
    max_evaluations: int | None = None
    scenarios: int | None = None
    seed: int | None = None
    objectives: tuple[str | Objective, ...] | None = None
    progress: bool = True
    registry: Any = None


@dataclass
class OptimizeResult:
    """What a search found.

    Attributes
    ----------
    candidates
        Every candidate visited (index: its key ``c-...``): lever values, objective values,
        ``failed_share``, ``generation`` first seen, ``on_front``.
    pareto
        The candidates no other candidate beats on every objective (feasible ones: no failed run),
        ordered by the first objective.
    reference
        The scenario's named strategies on the same sampled scenarios: objective values.
    history
        One row per generation: candidates, runs, front size, best value of each objective.
    """

    folder: Path
    levers: list[str]
    objectives: list[ObjectiveSpec]
    candidates: pd.DataFrame
    pareto: pd.DataFrame
    reference: pd.DataFrame
    history: pd.DataFrame
    evaluations: int
    runs: int
    computed_runs: int
    stopped: str
    scenario: Any = field(default=None, repr=False)

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.objectives]

    def choose(self, candidate: str | None = None) -> str:
        """A candidate of the front: the one named, else the best compromise.

        The compromise is the front's point nearest the ideal point (each objective scaled to
        [0, 1] over the front): for one objective, simply the best.
        """
        if candidate is not None:
            if candidate not in self.candidates.index:
                raise OptimizeError(f"no candidate {candidate!r} in {self.folder}; the Pareto set: "
                                    f"{', '.join(self.pareto.index) or '(empty)'}")
            return candidate
        if self.pareto.empty:
            raise OptimizeError("no feasible candidate (every one had failed runs); see the errors "
                                f"in {self.folder / 'evaluations'}")
        signed = minimised(self.pareto, self.objectives)
        span = signed.max(axis=0) - signed.min(axis=0)
        scaled = (signed - signed.min(axis=0)) / np.where(span > 0, span, 1.0)
        return str(self.pareto.index[int(np.argmin(np.sqrt((scaled ** 2).sum(axis=1))))])


def objective_specs(scenario: Any, settings: LeverSettings,
                    override: Sequence[str | Objective] | None = None) -> list[ObjectiveSpec]:
    """The search's objectives with directions (default: the ranking's primary KPI and risk)."""
    from twinworld.results import kpi_definitions

    listed = [_parse_objective(o) for o in override] if override else list(settings.objectives)
    if not listed:
        primary = scenario.ranking.primary or (scenario.kpis[0] if scenario.kpis else None)
        if primary is None:
            raise OptimizeError("no objectives: list levers.objectives, or set ranking.primary")
        listed = [Objective(kpi=primary, risk=scenario.ranking.risk)]
    known = {d.name: d for d in kpi_definitions(scenario)}
    specs = []
    for objective in listed:
        if objective.kpi not in known:
            raise OptimizeError(f"unknown KPI {objective.kpi!r} in the objectives; KPIs: {', '.join(known)}")
        specs.append(ObjectiveSpec(objective.kpi, objective.risk or scenario.ranking.risk,
                                   known[objective.kpi].direction.value, scenario.ranking.cvar_alpha))
    return specs


def _parse_objective(text: str | Objective) -> Objective:
    if isinstance(text, Objective):
        return text
    kpi, _, risk = str(text).partition(":")
    try:
        return Objective(kpi=kpi.strip(), risk=risk.strip() or None)
    except ValueError as err:
        raise OptimizeError(f"objective {text!r}: write KPI:RISK with RISK one of mean, cvar, p90, "
                            f"median, mean_regret, max_regret") from err


def _settings(scenario: Any, options: OptimizeOptions) -> LeverSettings:
    settings = scenario.levers
    if settings is None:
        raise OptimizeError(f"scenario {scenario.name!r} has no levers: section; add one naming the "
                            "strategy settings to vary (see docs/optimize.md)")
    updates = {k: getattr(options, k) for k in ("generations", "population", "max_evaluations",
                                                "scenarios", "seed") if getattr(options, k) is not None}
    search = settings.search.model_copy(update=updates)
    if search.max_evaluations is not None and search.max_evaluations < search.population:
        raise OptimizeError(f"max_evaluations {search.max_evaluations} is below one generation "
                            f"({search.population} candidates); raise it or lower the population")
    return settings.model_copy(update={"search": search})


def _fingerprint(base: Any, plan: Any) -> str:
    """What the evaluations depend on: the scenario (strategies, levers, sweep and ranking aside)
    and the sampled design."""
    from twinworld.experiments.sweep import design_digest, plain

    data = plain(base)
    for key in ("strategies", "levers", "sweep", "ranking", "name", "description", "kpis"):
        data.pop(key, None)
    text = json.dumps(data, sort_keys=True, default=str) + design_digest(plan) + str(plan.replications)
    return hashlib.sha256(text.encode()).hexdigest()


class _Search:
    """The ask-and-tell loop: decode, look up or run, score, tell; one generation per turn."""

    def __init__(self, base: Any, settings: LeverSettings, objectives: list[ObjectiveSpec],
                 store: OptimizeStore, design_csv: Path, index: pd.MultiIndex, reference: pd.DataFrame,
                 options: OptimizeOptions) -> None:
        self.base, self.settings, self.objectives = base, settings, objectives
        self.store, self.design_csv, self.index, self.reference = store, design_csv, index, reference
        self.options = options
        self.space = LeverSpace(settings.vary)
        self.runs_per_candidate = len(index)
        self.cache = store.cached_runs(self.runs_per_candidate)
        self.visited: dict[str, dict[str, Any]] = {}
        self.scores = pd.DataFrame()
        self.history: list[dict[str, Any]] = []
        self.computed_runs = 0
        self.stopped = "generations"
        self.context = {"registry": base.registry, "system_kinds": base.system_kinds()}

    def parts(self, values: dict[str, Any]) -> dict[str, Any]:
        return candidate_parts(self.base.strategies[self.settings.strategy], self.settings.vary, values,
                               context=self.context)

    def evaluate(self, generation: int, rows: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray] | None:
        """Keys, minimised objectives and constraint of each row; None when over budget."""
        decoded = [self.space.decode(row) for row in rows]
        keys = [candidate_key(v) for v in decoded]
        fresh = list(dict.fromkeys(k for k in keys if k not in self.visited))
        budget = self.settings.search.max_evaluations
        if budget is not None and len(self.visited) + len(fresh) > budget:
            self.stopped = "max_evaluations"
            return None
        for key, values in zip(keys, decoded):
            self.visited.setdefault(key, {**values, "generation": generation})
        new = [k for k in fresh if k not in self.cache]
        if new:
            strategies = {k: self.parts({n: self.visited[k][n] for n in self.space.names}) for k in new}
            runs = run_batch(self.base, strategies, self.store.batch_folder(generation, new),
                             self.design_csv, replications=self.settings.search.replications,
                             label=f"gen {generation} of {self.base.name}", options=self.options.evaluation)
            for name, group in runs.groupby("strategy", sort=False):
                self.cache[str(name)] = group
            self.computed_runs += int(runs.attrs.get("sweep", {}).get("computed", len(runs)))
        if fresh:
            rows_of = pd.concat([self.cache[k] for k in fresh], ignore_index=True)
            scored = candidate_scores(rows_of, fresh, self.objectives, self.index, self.reference)
            self.scores = pd.concat([self.scores, scored])
        table = self.scores.loc[keys]
        return keys, minimised(table, self.objectives), table["failed_share"].to_numpy(dtype=float)

    def front(self) -> list[str]:
        """Keys of the feasible candidates no other one dominates."""
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        feasible = self.scores[self.scores["failed_share"] == 0]
        if feasible.empty:
            return []
        signed = minimised(feasible, self.objectives)
        order = NonDominatedSorting().do(signed, only_non_dominated_front=True)
        keys = list(feasible.index[np.sort(order)])
        return list(dict.fromkeys(keys))

    def record(self, generation: int) -> dict[str, Any]:
        front = self.front()
        row: dict[str, Any] = {"generation": generation, "candidates": len(self.visited),
                               "runs": len(self.visited) * self.runs_per_candidate,
                               "computed_runs": self.computed_runs, "front": len(front)}
        for o in self.objectives:
            values = self.scores.loc[front, o.label] if front else pd.Series(dtype=float)
            row[f"best {o.label}"] = (float(values.min() if o.lower_is_better else values.max())
                                      if len(values) else math.nan)
        self.history.append(row)
        return row


def _algorithm(n_obj: int, population: int, space: LeverSpace, start: np.ndarray) -> Any:
    """GA for one objective, NSGA-II for two or three, NSGA-III beyond (reference directions)."""
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM

    class Snap(Repair):
        def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
            return space.snap(X)

    common = dict(sampling=start, crossover=SBX(eta=15, prob=0.9), mutation=PM(eta=20),
                  repair=Snap(), eliminate_duplicates=True)
    if n_obj == 1:
        from pymoo.algorithms.soo.nonconvex.ga import GA
        return GA(pop_size=population, **common)
    if n_obj <= 3:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        return NSGA2(pop_size=population, **common)
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    partitions = 1
    while math.comb(partitions + n_obj, n_obj - 1) <= population:
        partitions += 1
    return NSGA3(get_reference_directions("das-dennis", n_obj, n_partitions=partitions),
                 pop_size=population, **common)


def _start(scenario: Any, settings: LeverSettings, space: LeverSpace, population: int,
           seed: int) -> np.ndarray:
    """The first generation: each named strategy's lever values, then a Latin hypercube."""
    points = starting_points(scenario.strategies, settings)
    rows = list(dict.fromkeys(tuple(space.encode(v)) for v in points.values()))[:population]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x1e7e,)))
    extra = space.latin_hypercube(max(0, population - len(rows)), rng)
    return np.vstack([np.array(rows), extra]) if len(extra) else np.array(rows)


def optimize(scenario_or_path: Any, out: str | Path, *, options: OptimizeOptions | None = None) -> OptimizeResult:
    """Search the scenario's levers for strategies that do well across its sampled scenarios.

    Parameters
    ----------
    scenario_or_path
        A scenario (or its YAML file) with a ``levers:`` section.
    out
        The optimisation folder; run again into it to resume (nothing computed twice) or to
        search on with more generations.
    options
        Search overrides and where the runs execute.

    Returns
    -------
    OptimizeResult

    Raises
    ------
    OptimizeError
        No ``levers:`` section, unknown objectives, or ``out`` holds a different optimisation.
    """
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.problems.static import StaticProblem

    from twinworld.experiments.design import make_design

    options = options or OptimizeOptions()
    scenario = _load(scenario_or_path, options.registry)
    settings = _settings(scenario, options)
    objectives = objective_specs(scenario, settings, options.objectives)
    search = settings.search
    seed = int(scenario.seed if search.seed is None else search.seed)
    base = scenario.model_copy(update={"seed": seed})
    plan = make_design(base.model_copy(update={"strategies": {}}), kind=search.design,
                       scenarios=search.scenarios, replications=search.replications)
    store = OptimizeStore(out)
    fingerprint = _fingerprint(base, plan)
    old = store.check(fingerprint, scenario.name)
    design_csv = store.write_design(plan.parameters, plan.values)
    manifest = _manifest(scenario, settings, objectives, fingerprint, seed, old)
    store.write_manifest(manifest)
    index = pd.MultiIndex.from_product([range(plan.scenarios), range(plan.replications)],
                                       names=["scenario_index", "replication"])
    _say(options, f"reference: the {len(scenario.strategies)} named strategies on {plan.scenarios} "
                  f"sampled scenario(s)")
    reference = run_batch(base, scenario.strategies, store.reference_folder, design_csv,
                          replications=search.replications, label=f"reference of {scenario.name}",
                          options=options.evaluation)
    state = _Search(base, settings, objectives, store, design_csv, index, reference, options)
    space = state.space
    algorithm = _algorithm(len(objectives), search.population, space,
                           _start(scenario, settings, space, search.population, seed))
    low, high = space.bounds()
    problem = Problem(n_var=len(space.names), n_obj=len(objectives), n_ieq_constr=1, xl=low, xu=high)
    algorithm.setup(problem, termination=("n_gen", search.generations), seed=seed, verbose=False)
    generation = 0
    while algorithm.has_next():
        population = algorithm.ask()
        generation += 1
        scored = state.evaluate(generation, population.get("X"))
        if scored is None:
            break
        _, signed, failed = scored
        Evaluator().eval(StaticProblem(problem, F=signed, G=failed[:, None]), population)
        algorithm.tell(infills=population)
        _progress(options, state.record(generation), search.generations, objectives)
    return _finish(scenario, state, reference, manifest, generation)


def _load(source: Any, registry: Any) -> Any:
    from twinworld.scenario.model import Scenario

    if isinstance(source, Scenario):
        return source
    from twinworld.scenario.loader import load_scenario

    return load_scenario(source, registry=registry)


def _manifest(scenario: Any, settings: LeverSettings, objectives: list[ObjectiveSpec], fingerprint: str,
              seed: int, old: dict[str, Any]) -> dict[str, Any]:
    return {"twinworld_optimize": OPTIMIZE_VERSION, "scenario": scenario.name,
            "scenario_file": scenario.source, "evaluation_sha256": fingerprint, "seed": seed,
            "template": settings.strategy,
            "levers": {name: lever.model_dump(mode="json", exclude_none=True)
                       for name, lever in settings.vary.items()},
            "objectives": [{"kpi": o.kpi, "risk": o.risk, "direction": o.direction,
                            "cvar_alpha": o.cvar_alpha, "label": o.label} for o in objectives],
            "search": settings.search.model_dump(mode="json"),
            "created": old.get("created", _now()), "complete": False}


def _finish(scenario: Any, state: _Search, reference_runs: pd.DataFrame, manifest: dict[str, Any],
            generations: int) -> OptimizeResult:
    names = state.space.names
    labels = [o.label for o in state.objectives]
    visited = pd.DataFrame.from_dict(state.visited, orient="index")
    table = visited[names].join(state.scores[labels + ["failed_share"]]).join(visited["generation"])
    table.index.name = "candidate"
    front = state.front()
    table["on_front"] = table.index.isin(front)
    first = state.objectives[0]
    pareto = table.loc[front].sort_values(first.label, ascending=first.lower_is_better)
    reference = candidate_scores(reference_runs, list(scenario.strategies), state.objectives,
                                 state.index, reference_runs)
    history = pd.DataFrame(state.history)
    store = state.store
    store.write_table(table, "candidates")
    store.write_table(pareto, "pareto")
    store.write_table(reference, "reference")
    history.to_csv(store.root / "history.csv", index=False)
    manifest.update(complete=True, updated=_now(), generations=generations, stopped=state.stopped,
                    candidates=len(table), pareto=list(pareto.index))
    store.write_manifest(manifest)
    return OptimizeResult(store.root, names, state.objectives, table, pareto, reference, history,
                          len(table), len(table) * state.runs_per_candidate, state.computed_runs,
                          state.stopped, scenario)


def _say(options: OptimizeOptions, text: str) -> None:
    if options.progress:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(f"[dim]optimize:[/] {text}")


def _progress(options: OptimizeOptions, row: dict[str, Any], generations: int,
              objectives: list[ObjectiveSpec]) -> None:
    best = ", ".join(f"{o.label} {row[f'best {o.label}']:,.4g}" for o in objectives)
    _say(options, f"generation {row['generation']}/{generations}: {row['candidates']} candidates "
                  f"({row['runs']:,} runs, {row['computed_runs']:,} computed now); front of "
                  f"{row['front']}; best on the front: {best}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def with_evaluation(options: OptimizeOptions, **changes: Any) -> OptimizeOptions:
    """``options`` with some evaluation settings changed (executor, workers, progress ...)."""
    return replace(options, evaluation=replace(options.evaluation, **changes))


def load_optimization(folder: str | Path) -> OptimizeResult:
    """Read a finished optimisation folder back (no runs, no search)."""
    store = OptimizeStore(folder)
    manifest = store.read_manifest()
    if manifest is None or not (store.root / "candidates.parquet").exists():
        raise OptimizeError(f"{store.root}: no finished optimisation here (optimize.json and "
                            "candidates.parquet); run `twinworld optimize SCENARIO --out DIR`")
    objectives = [ObjectiveSpec(o["kpi"], o["risk"], o["direction"], float(o.get("cvar_alpha", 0.9)))
                  for o in manifest["objectives"]]
    candidates = pd.read_parquet(store.root / "candidates.parquet")
    pareto = pd.read_parquet(store.root / "pareto.parquet")
    reference = pd.read_parquet(store.root / "reference.parquet")
    history = pd.read_csv(store.root / "history.csv")
    runs = int(manifest.get("search", {}).get("scenarios", 0)) * int(
        manifest.get("search", {}).get("replications", 1)) * len(candidates)
    return OptimizeResult(store.root, list(manifest["levers"]), objectives, candidates, pareto, reference,
                          history, len(candidates), runs, 0, str(manifest.get("stopped", "")))

"""Designs over a scenario's uncertain parameters, and the deterministic list of runs they imply.

A design picks values for every uncertain parameter (``twinworld.scenario.uncertain``) of each
*scenario sample*; every sample then runs under every strategy for R replications. All designs go
through quantiles: a design chooses ``u`` in [0, 1) per parameter and the distribution's inverse
CDF (:meth:`twinworld.params.Dist.ppf`) turns it into a value, so a normal stays normal and a
choice stays a choice whatever the design.

- ``mc``: independent uniform quantiles per sample, drawn from a stream keyed by the sample's
  index, so sample ``i`` is the same whether the sweep has 100 or 10,000 samples;
- ``lhs``: Latin hypercube: each parameter's range is cut into N equally likely strata, each used
  exactly once, strata shuffled independently per parameter;
- ``factorial``: every combination of the values listed in ``sweep.levels`` (parameters not listed
  stay at their median);
- ``csv``: one row per sample from a user's file, one column per parameter path (``param.``
  prefix optional); parameters without a column stay at their median;
- ``sobol``: Saltelli's scheme on a scrambled Sobol' sequence (SALib), for Sobol' sensitivity
  indices: ``scenarios`` is the base sample N (rounded up to a power of two) and the design holds
  N x (D + 2) samples for D parameters, in SALib's order (per base sample: A, then A with each
  column j from B, then B). :func:`twinworld.analysis.sensitivity.sobol_indices` reads it back.

Seeds: the run seed of sample ``i``, replication ``r`` comes from
``SeedSequence(scenario.seed, spawn_key=(i, r))`` and is the same for every strategy (common
random numbers) and whatever executor or worker runs it.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinworld.core.rng import name_key
from twinworld.errors import FeedError, SweepError
from twinworld.feeds.safe_files import describe_error, read_text
from twinworld.limits import (
    ALLOW_LARGE_ENV,
    MAX_DESIGN_CSV_BYTES,
    MAX_REPLICATIONS,
    MAX_SWEEP_RUNS,
    MAX_SWEEP_SCENARIOS,
)
from twinworld.params import Dist
from twinworld.scenario.uncertain import uncertainties

__all__ = ["DESIGNS", "Design", "RunSpec", "make_design", "run_seed", "run_id", "saltelli", "sobol_base"]

DESIGNS = ("mc", "lhs", "factorial", "csv", "sobol")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: which sample, replication and strategy, with what seed and values."""

    run_id: str
    scenario_index: int
    replication: int
    strategy: str
    seed: int | None


def run_seed(scenario_seed: int, scenario_index: int, replication: int) -> int:
    """The 63-bit run seed of sample ``scenario_index``, replication ``replication``.

    Derived from ``SeedSequence(scenario_seed, spawn_key=(scenario_index, replication))``; running
    ``twinworld.run(scenario, strategy, seed=<it>, values=<the sample's values>)`` reproduces the
    run exactly.
    """
    sequence = np.random.SeedSequence(int(scenario_seed), spawn_key=(int(scenario_index), int(replication)))
    return int(sequence.generate_state(2, np.uint64)[0] >> np.uint64(1))


def run_id(scenario_index: int, replication: int, strategy: str, *, index_width: int = 6,
           replication_width: int = 2) -> str:
    """``s000012-r00-baseline``: sorts by sample, then replication, then strategy."""
    return f"s{scenario_index:0{index_width}d}-r{replication:0{replication_width}d}-{strategy}"


@dataclass(frozen=True)
class Design:
    """The sample points of a sweep and the runs they imply.

    Attributes
    ----------
    kind
        ``mc``, ``lhs``, ``factorial`` or ``csv``.
    parameters
        Uncertain parameter paths, in scenario-file order (the columns of :attr:`values`).
    values
        One row per scenario sample, one column per parameter (float64).
    strategies
        Strategy names, in scenario order.
    replications
        Replications per sample and strategy.
    seed
        The scenario seed all run seeds derive from.
    """

    kind: str
    parameters: tuple[str, ...]
    values: np.ndarray
    strategies: tuple[str, ...]
    replications: int
    seed: int

    @property
    def scenarios(self) -> int:
        return int(self.values.shape[0])

    @property
    def total_runs(self) -> int:
        return self.scenarios * self.replications * len(self.strategies)

    def point(self, scenario_index: int) -> dict[str, float]:
        """The parameter values of one sample."""
        return dict(zip(self.parameters, (float(v) for v in self.values[scenario_index])))

    def widths(self) -> tuple[int, int]:
        return max(6, len(str(self.scenarios - 1))), max(2, len(str(self.replications - 1)))

    def runs(self, *, seeds: bool = True) -> Iterator[RunSpec]:
        """Every run, in run-id order of samples and replications (strategies in scenario order).

        ``seeds=False`` leaves ``seed`` as None (cheaper when only the run ids are needed).
        """
        index_width, rep_width = self.widths()
        for i in range(self.scenarios):
            for r in range(self.replications):
                seed = run_seed(self.seed, i, r) if seeds else None
                for strategy in self.strategies:
                    yield RunSpec(run_id(i, r, strategy, index_width=index_width,
                                         replication_width=rep_width), i, r, strategy, seed)

    def frame(self) -> pd.DataFrame:
        """The sample points as a DataFrame with ``param.<path>`` columns."""
        frame = pd.DataFrame(self.values, columns=[f"param.{p}" for p in self.parameters])
        frame.index.name = "scenario_index"
        return frame


def _stream(seed: int, *names: str | int) -> np.random.Generator:
    words = name_key(*(str(n) for n in names))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=words)))


def _to_values(dists: Sequence[Dist], quantiles: np.ndarray) -> np.ndarray:
    out = np.empty_like(quantiles, dtype=float)
    for j, dist in enumerate(dists):
        out[:, j] = [dist.ppf(float(u)) for u in quantiles[:, j]]
    return out


def monte_carlo(dists: Sequence[Dist], n: int, seed: int) -> np.ndarray:
    """Independent quantiles; sample ``i`` depends only on (seed, i), not on ``n``."""
    quantiles = np.array([_stream(seed, "design", "mc", i).random(len(dists)) for i in range(n)])
    return _to_values(dists, quantiles.reshape(n, len(dists)))


def latin_hypercube(dists: Sequence[Dist], paths: Sequence[str], n: int, seed: int) -> np.ndarray:
    """One quantile per stratum ``[k/n, (k+1)/n)`` per parameter, strata shuffled per parameter."""
    quantiles = np.empty((n, len(dists)))
    for j, path in enumerate(paths):
        rng = _stream(seed, "design", "lhs", path)
        quantiles[:, j] = (rng.permutation(n) + rng.random(n)) / n
    return _to_values(dists, quantiles)


def sobol_base(n: int) -> int:
    """The Sobol' base sample of a request for ``n``: the next power of two (at least 2)."""
    return max(2, 1 << max(0, int(n) - 1).bit_length())


def saltelli(dists: Sequence[Dist], paths: Sequence[str], n: int, seed: int) -> np.ndarray:
    """Saltelli's sample (first and total order) on quantiles, mapped through each distribution."""
    from SALib.sample import sobol as sobol_sample

    if not dists:
        raise SweepError("a sobol design needs uncertain parameters; this scenario has none")
    problem = {"num_vars": len(dists), "names": list(paths), "bounds": [[0.0, 1.0]] * len(dists)}
    quantiles = sobol_sample.sample(problem, sobol_base(n), calc_second_order=False, scramble=True,
                                    seed=int(seed) % 2**32)
    return _to_values(dists, np.clip(quantiles, 0.0, np.nextafter(1.0, 0.0)))


def factorial(dists: Mapping[str, Dist], levels: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Every combination of the listed levels; unlisted parameters at their median."""
    unknown = sorted(set(levels) - set(dists))
    if unknown:
        raise SweepError(f"sweep.levels names parameter(s) the scenario does not have: {unknown}; "
                         f"uncertain parameters: {', '.join(dists) or '(none)'}")
    if not levels:
        raise SweepError("a factorial design needs sweep.levels: parameter path -> list of values; "
                         f"uncertain parameters: {', '.join(dists) or '(none)'}")
    for path, values in levels.items():
        if not values:
            raise SweepError(f"sweep.levels.{path} lists no values")
    combinations = math.prod(len(values) for values in levels.values())
    if combinations > MAX_SWEEP_SCENARIOS:
        raise SweepError(f"sweep.levels combine into {combinations:,} samples, beyond the limit of "
                         f"{MAX_SWEEP_SCENARIOS:,}")
    medians = {path: dist.ppf(0.5) for path, dist in dists.items()}
    listed = [path for path in dists if path in levels]
    rows = []
    for combo in itertools.product(*(levels[p] for p in listed)):
        row = dict(medians)
        row.update(zip(listed, (float(v) for v in combo)))
        rows.append([row[p] for p in dists])
    return np.array(rows, dtype=float).reshape(len(rows), len(dists))


def from_csv(dists: Mapping[str, Dist], path: str | Path) -> np.ndarray:
    """One sample per row of a CSV file whose columns are parameter paths.

    The file must be a regular UTF-8 file within ``MAX_DESIGN_CSV_BYTES`` and at most
    ``MAX_SWEEP_SCENARIOS`` rows; errors name columns by position, never quoting the file.
    """
    file = Path(path)
    try:
        text = read_text(file, max_bytes=MAX_DESIGN_CSV_BYTES, what="design CSV")
        table = pd.read_csv(io.StringIO(text), nrows=MAX_SWEEP_SCENARIOS + 1)
    except FeedError as err:
        raise SweepError(f"{err} (a file with one column per parameter path)") from None
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SweepError(f"design CSV {file.name!r} is not a readable CSV file ({describe_error(err)})") from None
    if len(table) > MAX_SWEEP_SCENARIOS:
        raise SweepError(f"design CSV {file.name!r} has more than {MAX_SWEEP_SCENARIOS:,} rows")
    table.columns = [str(c).removeprefix("param.") for c in table.columns]
    unknown = [i + 1 for i, c in enumerate(table.columns) if c not in dists]
    if unknown:
        raise SweepError(f"design CSV {file.name!r}: column(s) {unknown} (by position) name no uncertain "
                         f"parameter of the scenario; valid headers: {', '.join(dists) or '(none)'}")
    if table.empty:
        raise SweepError(f"design CSV {file.name!r}: no rows; each row is one scenario sample")
    bad = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])
           or not np.isfinite(table[c].to_numpy(float, na_value=np.nan)).all()]
    if bad:
        raise SweepError(f"design CSV {file.name!r}: column(s) {bad} must hold a finite number in every row")
    out = np.empty((len(table), len(dists)))
    for j, (name, dist) in enumerate(dists.items()):
        out[:, j] = table[name].to_numpy(float) if name in table else dist.ppf(0.5)
    return out


def make_design(scenario: Any, *, kind: str | None = None, scenarios: int | None = None,
                replications: int | None = None, levels: Mapping[str, Sequence[float]] | None = None,
                design_csv: str | Path | None = None, strategies: Sequence[str] | None = None) -> Design:
    """The design of a sweep of ``scenario``; arguments left as None come from ``scenario.sweep``.

    Raises
    ------
    SweepError
        An unknown design, unknown parameters in ``levels`` or the CSV, or unknown strategies.
    """
    settings = scenario.sweep
    kind = kind or settings.design
    if kind not in DESIGNS:
        raise SweepError(f"unknown design {kind!r}; valid: {', '.join(DESIGNS)}")
    n = int(scenarios or settings.scenarios)
    reps = int(replications or settings.replications)
    if n < 1 or reps < 1:
        raise SweepError(f"scenarios and replications must be >= 1; got {n} and {reps}")
    dists = uncertainties(scenario)
    names = tuple(strategies or scenario.strategies)
    missing = [s for s in names if s not in scenario.strategies]
    if missing:
        raise SweepError(f"unknown strategy {missing[0]!r}; valid: {', '.join(scenario.strategies)}")
    _check_size(scenario, n if kind != "factorial" else 1, reps, len(names))
    paths = list(dists)
    if kind == "mc":
        values = monte_carlo(list(dists.values()), n, scenario.seed)
    elif kind == "lhs":
        values = latin_hypercube(list(dists.values()), paths, n, scenario.seed)
    elif kind == "sobol":
        values = saltelli(list(dists.values()), paths, n, scenario.seed)
    elif kind == "factorial":
        values = factorial(dists, levels if levels is not None else (settings.levels or {}))
    elif design_csv is not None:
        values = from_csv(dists, design_csv)
    else:
        values = from_csv(dists, _csv_beside(scenario, settings.design_csv))
    if values.size and not np.isfinite(values).all():
        raise SweepError("the design produced a non-finite parameter value")
    return Design(kind, tuple(paths), values, names, reps, int(scenario.seed))


def _check_size(scenario: Any, samples: int, replications: int, strategies: int) -> None:
    """Refuse a sweep beyond the limits of :mod:`twinworld.limits` (unless large work is allowed)."""
    from twinworld.scenario.workload import large_allowed

    if samples > MAX_SWEEP_SCENARIOS or replications > MAX_REPLICATIONS:
        raise SweepError(f"{samples:,} samples x {replications:,} replications is beyond the limits of "
                         f"{MAX_SWEEP_SCENARIOS:,} samples and {MAX_REPLICATIONS:,} replications")
    runs = samples * replications * strategies
    allow = (getattr(scenario, "_load_options", None) or {}).get("allow_large")
    if runs > MAX_SWEEP_RUNS and not large_allowed(allow):
        raise SweepError(f"the sweep has {runs:,} runs, above the limit of {MAX_SWEEP_RUNS:,}; sweep "
                         f"fewer samples, or pass --allow-large ({ALLOW_LARGE_ENV}=1)")


def _csv_beside(scenario: Any, path: str | None) -> Path:
    """``sweep.design_csv`` of a scenario: a file reference inside its ``data_dir``."""
    if path is None:
        raise SweepError("a csv design needs sweep.design_csv (or design_csv=): a file with one "
                         "column per parameter path")
    files = getattr(scenario, "files", None)
    if files is None:  # a Scenario not made by load_scenario: confine to its own folder
        from twinworld.scenario.files import ScenarioFiles

        home = Path(scenario.source).parent if scenario.source else Path.cwd()
        files = ScenarioFiles.for_scenario(scenario.data_dir, scenario_dir=home)
    return files.resolve(path, path="sweep.design_csv", kind="design_csv")
